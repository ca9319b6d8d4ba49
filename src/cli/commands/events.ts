import { once } from 'node:events';
import { type SearchEventsOptions, searchEvents } from '../../app/events.js';
import { openSealedEntry } from '../../app/open-sealed.js';
import { IntegrityError } from '../../core/errors.js';
import {
  type EventFilter,
  type EventHit,
  formatCsvHeader,
  formatCsvRow,
  formatHitJson,
  OUTCOMES,
  type Outcome,
  parseInstant,
  type TimeBounds,
} from '../../core/event-filter.js';
import { type CommandSpec, listOption, type Parsed, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { loadTrustOptions, TRUST_OPTIONS } from '../keys.js';
import { escapeText, type Io } from '../output.js';
import { KEY_OPTIONS, subjectKeysOf } from '../sealing.js';
import { openStore } from '../stores.js';

export const eventsSpec: CommandSpec = {
  name: 'events',
  summary: 'Search a store or evidence bundle: stream matching entries as JSON Lines or CSV.',
  usage:
    'events <store|bundle> (--pubkey PEM... | --trusted-keys FILE) [--log NAME] [--from T] [--to T] [--actor ID] [--action A] [--resource ID|TYPE] [--outcome O] [--format jsonl|csv] [--bundle]',
  description:
    'Each JSON Lines record is {"log","index","segment":{"seq","key"},...entry}: the entry as stored,\n' +
    'with its log and leaf index, so `auditlock prove <store> <index> --log <log>` makes its proof.\n' +
    'Filters are exact (case-sensitive) and repeatable: an entry matches when it equals one value of\n' +
    'each filter given. --resource matches the id or the type of any resource.\n' +
    '--from (inclusive) and --to (exclusive) bound the receive time (receivedAt, the archive clock):\n' +
    'receive times are in log order and signed in each segment header, so the segments outside the\n' +
    'range are skipped after a binary search (about 2*log2(n) segment reads). --event-from and\n' +
    '--event-to bound the producer-written event.time instead; nothing orders it, so every segment\n' +
    'in the receive-time range is read. Every segment is checked (one version, signed by a trusted\n' +
    'key, hashes, root, chained to the one before) before any of its entries is printed; one that\n' +
    'fails is an error naming it (exit 1), after the hits from the segments before it.\n' +
    'Sealed fields (FORMAT.md §11) are shown opened with --keys/--wrap-key, each record with its\n' +
    'state (open, erased, sealed, invalid); CSV cells of fields not open read [erased], [sealed]...\n' +
    '--subject ID finds the entries with sealed fields of that subject (its keyed pseudonym).\n' +
    'Quarantined input is left out unless --include-quarantined: then every quarantined entry in\n' +
    'the receive-time range is printed ("kind":"quarantine"), whatever the other filters say.\n' +
    'CSV: a fixed header row, every cell quoted (RFC 4180), and a cell starting with = + - @ TAB or\n' +
    "CR prefixed with ' so spreadsheets do not evaluate it (OWASP CSV injection); no `detail`.\n" +
    'A summary per log goes to stderr. No match: no output on stdout, exit 0.\n' +
    'Exit status: 0 done, 1 a segment failed its checks, 2 usage or I/O error.',
  options: {
    ...TRUST_OPTIONS,
    log: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      help: 'search only this log; repeatable (default: every log)',
    },
    from: { type: 'string', value: 'T', help: 'received at or after T (RFC 3339)' },
    to: { type: 'string', value: 'T', help: 'received before T (RFC 3339)' },
    'event-from': { type: 'string', value: 'T', help: 'event.time at or after T (RFC 3339)' },
    'event-to': { type: 'string', value: 'T', help: 'event.time before T (RFC 3339)' },
    actor: { type: 'string', multiple: true, value: 'ID', help: 'actor.id; repeatable' },
    action: { type: 'string', multiple: true, value: 'A', help: 'action; repeatable' },
    resource: {
      type: 'string',
      multiple: true,
      value: 'ID|TYPE',
      help: 'a resource id or type; repeatable',
    },
    outcome: {
      type: 'string',
      multiple: true,
      value: 'O',
      help: 'success, failure or unknown; repeatable',
    },
    'include-quarantined': {
      type: 'boolean',
      help: 'also print quarantined input (rejected at ingest) in the receive-time range',
    },
    format: { type: 'string', value: 'jsonl|csv', help: 'output format', default: 'jsonl' },
    bundle: {
      type: 'boolean',
      help: 'the folder is an evidence bundle: each log starts where bundle.json says',
    },
    subject: {
      type: 'string',
      multiple: true,
      value: 'ID',
      help: 'entries with sealed fields of this data subject (by pseudonym; needs --keys); repeatable',
    },
    ...KEY_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
};

export async function events(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(eventsSpec, argv);
  const format = stringOption(p, 'format');
  if (format !== 'jsonl' && format !== 'csv')
    throw new UsageError(`--format must be jsonl or csv, got ${JSON.stringify(format)}`);
  const keys = await subjectKeysOf(p, 'events');
  const subjects = listOption(p, 'subject');
  if (subjects.length > 0 && !keys)
    throw new UsageError('events: --subject needs --keys and --wrap-key');
  const filter = { ...filterOf(p), subjects: subjects.map((s) => keys?.pseudonymOf(s) as string) };
  const trustedKeys = await loadTrustOptions(p);
  const store = await openStore(p.positionals[0] as string);
  const options: SearchEventsOptions = {
    trustedKeys,
    logs: listOption(p, 'log'),
    bundle: p.values.bundle === true,
    filter,
  };
  const out = new LineWriter(io);
  // On a terminal, control and bidirectional characters in CSV cells are shown escaped; JSON
  // Lines escapes them itself (formatHitJson), so its output is the same everywhere.
  const display = (io.stdout as { isTTY?: boolean }).isTTY ? escapeText : undefined;
  let headerDone = false;
  const onHit = async (found: EventHit) => {
    // Sealed fields: opened with --keys, else shown as sealed (FORMAT.md §11.2).
    const hit =
      found.entry.kind === 'sealed-event'
        ? { ...found, opened: await openSealedEntry(found.entry, found.origin ?? '', keys) }
        : found;
    if (format === 'jsonl') return out.write(`${formatHitJson(hit)}\n`);
    if (!headerDone) {
      headerDone = true;
      await out.write(formatCsvHeader());
    }
    await out.write(formatCsvRow(hit, display));
  };
  try {
    const summaries = await searchEvents(store, options, onHit);
    await out.flush();
    for (const s of summaries) {
      if (!s.stored) continue;
      const range =
        s.firstSeq > s.lastSeq ? 'no segment in range' : `segments ${s.firstSeq}..${s.lastSeq}`;
      io.stderr.write(
        `${escapeText(`log ${s.log}: ${s.hits} of ${s.entries} entries matched; ${range} of ${s.stored.firstSeq}..${s.stored.headSeq} read and checked (${s.segmentsRead} segment reads, and ${s.searchReads} to find the range)`)}\n`,
      );
    }
    if (!summaries.some((s) => s.stored)) io.stderr.write('no log with segments found\n');
    return EXIT.ok;
  } catch (err) {
    await out.flush().catch(() => undefined);
    if (out.closed) return EXIT.ok;
    // Stored data failed a check: a finding (exit 1), after the trusted hits printed before it.
    if (err instanceof IntegrityError) {
      io.stderr.write(`error: ${err.code}: ${escapeText(err.message)}\n`);
      return EXIT.findings;
    }
    throw err;
  }
}

function filterOf(p: Parsed): EventFilter {
  const outcomes = listOption(p, 'outcome');
  for (const o of outcomes)
    if (!OUTCOMES.includes(o as Outcome))
      throw new UsageError(
        `--outcome must be one of ${OUTCOMES.join(', ')}, got ${JSON.stringify(o)}`,
      );
  return {
    actors: listOption(p, 'actor'),
    actions: listOption(p, 'action'),
    resources: listOption(p, 'resource'),
    outcomes: outcomes as Outcome[],
    received: boundsOf(p, 'from', 'to'),
    eventTime: boundsOf(p, 'event-from', 'event-to'),
    includeQuarantined: p.values['include-quarantined'] === true,
  };
}

export function boundsOf(p: Parsed, fromName: string, toName: string): TimeBounds | undefined {
  const instant = (name: string) => {
    const v = stringOption(p, name);
    if (v === undefined) return undefined;
    try {
      return parseInstant(v, `--${name}`);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const from = instant(fromName);
  const to = instant(toName);
  return from || to ? { from, to } : undefined;
}

/**
 * Writes stdout in chunks of about 64 KiB, waiting for `drain` (bounded memory however large the
 * result), and stops quietly when the reader goes away (`auditlock events … | head`).
 */
export class LineWriter {
  readonly #io: Io;
  #buffer: string[] = [];
  #size = 0;
  #closed = false;
  #error: Error | undefined;

  constructor(io: Io) {
    this.#io = io;
    io.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.#closed = true;
      else this.#error = err;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  async write(text: string): Promise<void> {
    this.#buffer.push(text);
    this.#size += text.length;
    if (this.#size >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#closed) throw new ReaderGone();
    if (this.#error) throw this.#error;
    if (this.#buffer.length === 0) return;
    const chunk = this.#buffer.join('');
    this.#buffer = [];
    this.#size = 0;
    if (!this.#io.stdout.write(chunk)) await once(this.#io.stdout, 'drain');
  }
}

/** Stops the search when stdout's reader has gone; not an error. */
export class ReaderGone extends Error {}
