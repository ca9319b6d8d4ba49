/**
 * Searching and exporting stored entries (`auditlock events`): which entries a filter selects, and
 * how a hit is written as a JSON Lines record or a CSV row. Pure: no I/O.
 *
 * Filters. Each field filter lists values; an entry matches a filter when it equals one of them
 * (exact, case-sensitive, no patterns), and matches the search when it matches every filter given:
 * - `actors`: `event.actor.id`; `actions`: `event.action`; `outcomes`: `event.outcome`;
 * - `resources`: the `id` or the `type` of any of `event.resources`;
 * - `received` bounds: the entry's `receivedAt` (the archive's clock), `from` inclusive, `to`
 *   exclusive. These are the bounds a search can skip segments by: receive times are in log order
 *   (FORMAT.md §5, `RECEIVE_TIME_REGRESSION`) and signed in each segment's header;
 * - `eventTime` bounds: the producer's `event.time`, compared as an instant (offsets applied,
 *   all 9 fraction digits). Nothing orders these, so they only filter: no segment is skipped.
 *
 * - `subjects`: subject pseudonyms (FORMAT.md §11.5): an entry with sealed fields matches when one
 *   of its sealed records belongs to one of them; a plain event never does. A sealed field not
 *   opened is absent from the event, so an `actors` filter does not match a sealed `actor.id`.
 *
 * Quarantined entries (input that failed validation) are left out unless `includeQuarantined`.
 * Then every quarantined entry within the `received` bounds is selected whatever the field and
 * event-time filters say: those fields were not validated, so no filter can say an entry is not
 * about an actor, and hiding rejected input from an investigator is the wrong failure.
 */
import { canonicalize } from './canonical-json.js';
import type { Entry } from './entry.js';
import { InputError } from './errors.js';
import { type AuditEvent, isRfc3339 } from './event.js';

export type Outcome = AuditEvent['outcome'];
export const OUTCOMES: readonly Outcome[] = ['success', 'failure', 'unknown'];

/**
 * An instant with nanosecond resolution: RFC 3339 allows 9 fraction digits, more than a JS number
 * of milliseconds holds exactly. Compared as (ms, ns) pairs.
 */
export type Instant = { readonly ms: number; readonly ns: number };

export type TimeBounds = {
  /** Inclusive. */
  readonly from?: Instant | undefined;
  /** Exclusive. */
  readonly to?: Instant | undefined;
};

export type EventFilter = {
  readonly actors?: readonly string[] | undefined;
  readonly actions?: readonly string[] | undefined;
  readonly resources?: readonly string[] | undefined;
  readonly outcomes?: readonly Outcome[] | undefined;
  readonly received?: TimeBounds | undefined;
  readonly eventTime?: TimeBounds | undefined;
  readonly includeQuarantined?: boolean | undefined;
  readonly subjects?: readonly string[] | undefined;
};

/** Where a hit is stored: enough to make a receipt (`auditlock receipt <store> <index> --log`). */
export type EntryLocation = {
  readonly log: string;
  /** Leaf index in the log's Merkle tree. */
  readonly index: number;
  readonly seq: number;
  /** Store key of the segment. */
  readonly key: string;
  /** Version of the segment read, on a versioned store (S3). */
  readonly versionId?: string | undefined;
};

/** How a reader opened a sealed entry (FORMAT.md §11.2): the event with open values, each state. */
export type OpenedView = {
  readonly event: object;
  readonly fields: readonly { readonly field: string; readonly state: string }[];
};

export type EventHit = EntryLocation & {
  readonly entry: Entry;
  /** The log's origin (from the segment's checkpoint): sealed fields are bound to it. */
  readonly origin?: string | undefined;
  /** For a `sealed-event` entry read with keys (or without: every state `sealed`). */
  readonly opened?: OpenedView | undefined;
};

/** An event as a reader may hold it: sealed fields not opened are absent (FORMAT.md §11.2). */
type ShownEvent = Omit<AuditEvent, 'actor'> & { readonly actor: Partial<AuditEvent['actor']> };

const RFC3339_PARTS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The instant an RFC 3339 timestamp (as `isRfc3339` accepts: a zone, up to 9 fraction digits)
 * names.
 * @throws InputError `TIME_INVALID` for anything else
 */
export function parseInstant(text: string, what = 'time'): Instant {
  const m = isRfc3339(text) ? RFC3339_PARTS.exec(text) : null;
  const whole = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(whole))
    throw new InputError(
      'TIME_INVALID',
      `${what}: expected an RFC 3339 timestamp with a time zone, e.g. 2026-11-26T08:00:00Z or 2026-11-26T09:00:00.5+01:00, got ${JSON.stringify(text.slice(0, 64))}`,
    );
  const digits = (m[2] ?? '').padEnd(9, '0');
  return { ms: whole + Number(digits.slice(0, 3)), ns: Number(digits.slice(3)) };
}

/** Negative, zero or positive as `a` is before, at or after `b`. */
export function compareInstants(a: Instant, b: Instant): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.ns - b.ns;
}

/** Whether `t` lies in `[from, to)`. */
export function withinBounds(t: Instant, bounds: TimeBounds | undefined): boolean {
  if (bounds?.from && compareInstants(t, bounds.from) < 0) return false;
  if (bounds?.to && compareInstants(t, bounds.to) >= 0) return false;
  return true;
}

/**
 * `bounds` in whole milliseconds for a search over millisecond receive times: a receive time `r`
 * (ns 0) is in `[from, to)` exactly when `fromMs <= r < toMs`, so both ends round up.
 */
export function boundsInMs(bounds: TimeBounds | undefined): {
  fromMs?: number | undefined;
  toMs?: number | undefined;
} {
  const up = (t: Instant | undefined) => (t === undefined ? undefined : t.ms + (t.ns > 0 ? 1 : 0));
  return { fromMs: up(bounds?.from), toMs: up(bounds?.to) };
}

/** Whether `filter` selects the entry (module comment). `receivedAtMs`: its parsed `receivedAt`. */
export function matchesEntry(entry: Entry, receivedAtMs: number, filter: EventFilter): boolean {
  if (!withinBounds({ ms: receivedAtMs, ns: 0 }, filter.received)) return false;
  if (entry.kind === 'quarantine') return filter.includeQuarantined === true;
  if (filter.subjects?.length) {
    const wanted = filter.subjects;
    if (entry.kind !== 'sealed-event' || !entry.sealed.some((r) => wanted.includes(r.subject)))
      return false;
  }
  const e = entry.event as ShownEvent;
  if (filter.actors?.length && !filter.actors.includes(e.actor.id as string)) return false;
  if (filter.actions?.length && !filter.actions.includes(e.action)) return false;
  if (filter.outcomes?.length && !filter.outcomes.includes(e.outcome)) return false;
  if (filter.resources?.length) {
    const wanted = filter.resources;
    if (!e.resources?.some((r) => wanted.includes(r.id) || wanted.includes(r.type))) return false;
  }
  if (filter.eventTime && !withinBounds(parseInstant(e.time, 'event.time'), filter.eventTime))
    return false;
  return true;
}

/**
 * Texts one of which an entry's stored bytes must contain for `filter` to select it, or undefined
 * when no such cheap test exists. Canonical JSON (RFC 8785 §3.2.2.2) writes a string as
 * `JSON.stringify` does, so an actor id `a` appears in the bytes as `JSON.stringify(a)`: entries
 * without any of the needles need not be decoded. Quarantined entries are selected without
 * looking at their fields, so there is no byte test when they are included.
 */
export function byteNeedles(filter: EventFilter): string[][] | undefined {
  if (filter.includeQuarantined) return undefined;
  const groups = [filter.actors, filter.actions, filter.resources, filter.subjects]
    .filter((g): g is readonly string[] => g !== undefined && g.length > 0)
    .map((g) => g.map((v) => JSON.stringify(v)));
  return groups.length > 0 ? groups : undefined;
}

/**
 * Characters JSON.stringify leaves as they are that must not reach a terminal as they are: DEL,
 * C1 controls (U+009B is a one-character CSI), the invisible line separators and the
 * bidirectional controls (Unicode TR #9, "Trojan Source"). Mirrors `UNSAFE` in src/cli/output.ts,
 * whose C0 controls and unpaired surrogates JSON.stringify already escapes.
 */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\uFEFF]/gu;

/**
 * One JSON Lines record of a hit (no line feed): `{"log","index","segment":{"seq","key",
 * "versionId"?},...entry}`, the entry's members as stored (`kind` first: `event` or `quarantine`).
 * The characters of {@link JSON_UNSAFE} are written as `\uXXXX` escapes, which JSON allows for
 * any character: the value is the same, and the line is safe to show on a terminal.
 */
export function formatHitJson(hit: EventHit): string {
  const segment = {
    seq: hit.seq,
    key: hit.key,
    ...(hit.versionId ? { versionId: hit.versionId } : {}),
  };
  const { entry, opened } = hit;
  const record = {
    log: hit.log,
    index: hit.index,
    segment,
    ...entry,
    ...(opened && entry.kind === 'sealed-event'
      ? {
          event: opened.event,
          sealed: entry.sealed.map((r, i) => ({ ...r, state: opened.fields[i]?.state })),
        }
      : {}),
  };
  return terminalSafeJson(record);
}

/**
 * `JSON.stringify(value)` with the characters of {@link JSON_UNSAFE} written as `\uXXXX` escapes
 * (the same JSON value, safe to show on a terminal). Also used by the OCSF export.
 */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    JSON_UNSAFE,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The CSV columns, in order (the header row). One row per hit; a member the entry lacks is an
 * empty cell. `resources` is the canonical JSON array of the event's resources; `detail` is not
 * exported (up to 64 KiB of nested JSON; spreadsheets cap a cell at 32,767 characters): use JSON
 * Lines for it. A quarantined row has `kind` `quarantine`, no event columns, and the rejection's
 * code and message in the last two columns.
 */
export const CSV_COLUMNS = [
  'time',
  'receivedAt',
  'log',
  'index',
  'seq',
  'key',
  'kind',
  'id',
  'actor.id',
  'actor.type',
  'actor.name',
  'actor.account',
  'action',
  'category',
  'outcome',
  'resources',
  'source.ip',
  'source.userAgent',
  'source.host',
  'source.region',
  'source.service',
  'reason.code',
  'reason.message',
  'correlationId',
  'delivery.source',
  'delivery.id',
  'quarantine.code',
  'quarantine.message',
] as const;

/** First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell. RFC 4180 §2: a field holding `"` , CR or LF must be quoted and its `"` doubled;
 * every cell is quoted here, as OWASP's CSV injection guidance advises, so a separator inside text
 * can never start a new cell. A cell starting with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`
 * (OWASP), so Excel, LibreOffice and Google Sheets show it as text instead of evaluating it. That
 * changes the text (`-x` becomes `'-x`): JSON Lines is the lossless export.
 * @param display applied to the text first (the CLI escapes control characters on a terminal)
 */
export function csvCell(text: string, display?: (s: string) => string): string {
  const shown = display ? display(text) : text;
  const guarded = FORMULA_START.test(shown) ? `'${shown}` : shown;
  return `"${guarded.replaceAll('"', '""')}"`;
}

/** RFC 4180 §2: records end in CRLF. */
const CRLF = '\r\n';

/** The CSV header row, CRLF included. */
export function formatCsvHeader(): string {
  return `${CSV_COLUMNS.map((c) => csvCell(c)).join(',')}${CRLF}`;
}

/** The CSV row of a hit, CRLF included; columns as {@link CSV_COLUMNS}. */
export function formatCsvRow(hit: EventHit, display?: (s: string) => string): string {
  const cells = csvValues(hit);
  return `${CSV_COLUMNS.map((c) => csvCell(cells[c] ?? '', display)).join(',')}${CRLF}`;
}

function csvValues(hit: EventHit): Partial<Record<(typeof CSV_COLUMNS)[number], string>> {
  const { entry } = hit;
  const common = {
    receivedAt: entry.receivedAt,
    log: hit.log,
    index: String(hit.index),
    seq: String(hit.seq),
    key: hit.key,
    kind: entry.kind,
    'delivery.source': entry.delivery?.source,
    'delivery.id': entry.delivery?.id,
  };
  if (entry.kind === 'quarantine')
    return {
      ...common,
      'quarantine.code': entry.error.code,
      'quarantine.message': entry.error.message,
    };
  const e = (hit.opened?.event ?? entry.event) as ShownEvent;
  const shown = {
    ...common,
    time: e.time,
    id: e.id,
    'actor.id': e.actor.id,
    'actor.type': e.actor.type,
    'actor.name': e.actor.name,
    'actor.account': e.actor.account,
    action: e.action,
    category: e.category,
    outcome: e.outcome,
    resources: e.resources ? canonicalize(e.resources) : undefined,
    'source.ip': e.source?.ip,
    'source.userAgent': e.source?.userAgent,
    'source.host': e.source?.host,
    'source.region': e.source?.region,
    'source.service': e.source?.service,
    'reason.code': e.reason?.code,
    'reason.message': e.reason?.message,
    correlationId: e.correlationId,
  };
  // A sealed field not opened shows its state (`[erased]`, `[sealed]`, `[invalid]`), never a blank.
  if (entry.kind === 'sealed-event')
    entry.sealed.forEach((r, i) => {
      const state = hit.opened?.fields[i]?.state ?? 'sealed';
      if (state !== 'open' && Object.hasOwn(shown, r.field))
        (shown as Record<string, string | undefined>)[r.field] = `[${state}]`;
    });
  return shown;
}
