/**
 * The audit event a producer sends: who did what, when, to which resource, with what outcome,
 * from where. Field names follow what CloudTrail and OCSF users expect:
 *
 *     { id?, time, action, category?,
 *       actor: { id, type?, name?, account?, sessionId? },
 *       resources?: [{ type, id, name?, account?, region? }],
 *       outcome, reason?: { code?, message? },
 *       source?: { ip?, userAgent?, host?, region?, service? },
 *       correlationId?, detail? }
 *
 * - `time`: RFC 3339 with a time zone, kept exactly as the producer wrote it.
 * - `outcome`: `success` | `failure` | `unknown`. `actor.type`: `user` | `role` | `service` |
 *   `system` | `anonymous`. `reason` needs `code` or `message` or both.
 * - `id`, `correlationId`: 1–128 visible ASCII characters. `source.ip`: IPv4 or IPv6 text.
 * - `detail`: any JSON object, at most 64 KiB canonical and 32 levels deep.
 * - The whole event is at most 256 KiB canonical (RFC 8785, UTF-8).
 *
 * Objects are strict: an unknown field is an error, never silently dropped. Text limits count
 * UTF-16 code units (JavaScript `length`). Text refuses C0 control characters, DEL and unpaired
 * surrogates (`reason.message` allows TAB, LF, CR), so what is stored is what a reader sees.
 */
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { canonicalize, type JsonObject } from './canonical-json.js';
import { InputError, type InputIssue } from './errors.js';
import { parseJsonStrict } from './strict-json.js';

/** Largest event, counted as the UTF-8 bytes of its RFC 8785 canonical form. */
export const MAX_EVENT_BYTES = 256 * 1024;
/** Largest `detail`, counted as the UTF-8 bytes of its canonical form. */
export const MAX_DETAIL_BYTES = 64 * 1024;
/** Deepest nesting of arrays/objects inside `detail` (the `detail` object itself is depth 1). */
export const MAX_DETAIL_DEPTH = 32;
export const MAX_RESOURCES = 100;
/** `id` and `correlationId`: visible ASCII only, so lookups never depend on Unicode normalisation. */
export const MAX_ID_LENGTH = 128;
/** `category`, regions. */
export const MAX_SHORT_TEXT = 64;
/** Names, identifiers, actions, accounts, hosts, services, reason codes. */
export const MAX_TEXT = 256;
/** `resources[].id` (ARNs reach 2048), `resources[].name`, `source.userAgent`, `reason.message`. */
export const MAX_LONG_TEXT = 2048;
/**
 * {@link parseEventLine} refuses longer lines (in UTF-16 code units) before parsing. Twice the event
 * limit leaves room for whitespace and `\uXXXX` escapes (Python's `json.dumps` escapes non-ASCII).
 */
export const MAX_EVENT_LINE_LENGTH = 2 * MAX_EVENT_BYTES;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them
const CLEAN_TEXT = /^[^\u0000-\u001f\u007f\uD800-\uDFFF]*$/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, but tab, LF and CR are allowed
const CLEAN_PROSE = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\uD800-\uDFFF]*$/u;
const VISIBLE_ASCII = /^[\x21-\x7e]*$/;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const text = (max: number, pattern = CLEAN_TEXT) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(pattern, { error: (iss) => badCharacter(iss.input, pattern) });

const token = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(VISIBLE_ASCII, {
      error: (iss) => badCharacter(iss.input, VISIBLE_ASCII, 'visible ASCII (U+0021 to U+007E)'),
    });

const timestamp = z.string().refine(isRfc3339, {
  error: (iss) =>
    `expected an RFC 3339 timestamp with a time zone, e.g. 2026-11-26T08:16:35.123Z or 2026-11-26T09:16:35+01:00, got ${describeValue(iss.input)}`,
});

const ipAddress = z.string().refine((s) => isIpv4(s) || isIpv6(s), {
  error: (iss) => `expected an IPv4 or IPv6 address, got ${describeValue(iss.input)}`,
});

const detail = z.custom<JsonObject>().superRefine((value, ctx) => {
  for (const issue of checkDetail(value)) {
    // One path element holding the dotted sub-path: joined with '.' later, it reads the same.
    const path = issue.path === '' ? [] : [issue.path];
    ctx.addIssue({ code: 'custom', path, message: issue.message, input: value });
  }
});

const actorSchema = z.strictObject({
  id: text(MAX_TEXT),
  type: z.enum(['user', 'role', 'service', 'system', 'anonymous']).optional(),
  name: text(MAX_TEXT).optional(),
  /** Account or tenant the actor belongs to. */
  account: text(MAX_TEXT).optional(),
  sessionId: text(MAX_TEXT).optional(),
});

const resourceSchema = z.strictObject({
  type: text(MAX_TEXT),
  id: text(MAX_LONG_TEXT),
  name: text(MAX_LONG_TEXT).optional(),
  account: text(MAX_TEXT).optional(),
  region: text(MAX_SHORT_TEXT).optional(),
});

const sourceSchema = z.strictObject({
  ip: ipAddress.optional(),
  userAgent: text(MAX_LONG_TEXT).optional(),
  host: text(MAX_TEXT).optional(),
  region: text(MAX_SHORT_TEXT).optional(),
  service: text(MAX_TEXT).optional(),
});

const reasonSchema = z
  .strictObject({
    code: text(MAX_TEXT).optional(),
    message: text(MAX_LONG_TEXT, CLEAN_PROSE).optional(),
  })
  .refine((r) => r.code !== undefined || r.message !== undefined, {
    error: 'expected at least one of code, message; got neither',
  });

const eventShape = z
  .strictObject({
    id: token(MAX_ID_LENGTH).optional(),
    time: timestamp,
    action: text(MAX_TEXT),
    category: text(MAX_SHORT_TEXT).optional(),
    actor: actorSchema,
    resources: z.array(resourceSchema).max(MAX_RESOURCES).optional(),
    outcome: z.enum(['success', 'failure', 'unknown']),
    reason: reasonSchema.optional(),
    source: sourceSchema.optional(),
    correlationId: token(MAX_ID_LENGTH).optional(),
    detail: detail.optional(),
  })
  .superRefine((event, ctx) => {
    // Encoding the whole event only to measure it would double the cost of ingest; a cheap bound
    // settles almost every event, and the exact size is computed only when the bound is too big.
    if (MAX_DETAIL_BYTES + sizeBound(event, 'detail') <= MAX_EVENT_BYTES) return;
    let size: number;
    try {
      size = utf8Length(canonicalize(event));
    } catch {
      return; // `detail` is not JSON: its own check reports that
    }
    if (size > MAX_EVENT_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        input: event,
        message: `expected at most ${MAX_EVENT_BYTES} bytes canonically encoded, got ${size}`,
      });
    }
  });

/**
 * zod schema of one audit event. Prefer {@link parseEvent}, which also reports coded errors.
 * Compiled ahead of time (`z.compile`): valid input takes generated code, measured 2.5–4x faster
 * on a 1 KB event; invalid input falls back to the ordinary parser, so issues are the same.
 */
export const auditEventSchema = z.compile(eventShape, { strict: true });

export type AuditEvent = z.output<typeof auditEventSchema>;
export type Actor = AuditEvent['actor'];
export type Resource = NonNullable<AuditEvent['resources']>[number];

const ALLOWED_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(auditEventSchema.shape),
  actor: Object.keys(actorSchema.shape),
  'resources.*': Object.keys(resourceSchema.shape),
  source: Object.keys(sourceSchema.shape),
  reason: ['code', 'message'],
};

/**
 * Validates one audit event.
 * @param location where the input came from, for the message, e.g. `line 12` or `record 7f3a`
 * @throws InputError `EVENT_INVALID` with every issue, each with a dotted `path` such as `actor.id`
 */
export function parseEvent(input: unknown, location?: string): AuditEvent {
  if (fastPathEnabled) {
    const event = acceptEvent(input);
    if (event !== undefined) return event;
  }
  const result = auditEventSchema.safeParse(input, { error: messageFor });
  if (result.success) return result.data;
  const issues = issuesFromZod(result.error.issues, ALLOWED_KEYS);
  throw new InputError('EVENT_INVALID', summarise('invalid audit event', issues, location), {
    location,
    issues,
  });
}

/**
 * Parses and validates one line of JSON Lines input. The length limit applies before parsing; the
 * JSON is read strictly (src/core/strict-json.ts: no duplicate member names, exact numbers).
 * @param lineNumber 1-based, used in the location `line N`
 * @throws InputError `EVENT_TOO_LARGE`, `JSON_INVALID`, `JSON_DUPLICATE_MEMBER`,
 *   `JSON_NUMBER_INEXACT` or `EVENT_INVALID`
 */
export function parseEventLine(line: string, lineNumber: number): AuditEvent {
  const location = `line ${lineNumber}`;
  if (line.length > MAX_EVENT_LINE_LENGTH) {
    const message = `expected at most ${MAX_EVENT_LINE_LENGTH} characters, got ${line.length}`;
    throw new InputError('EVENT_TOO_LARGE', `${location}: ${message}`, {
      location,
      issues: [{ path: '', message }],
    });
  }
  return parseEvent(parseJsonStrict(line, location), location);
}

// ---------------------------------------------------------------------------------------------
// Accept-only fast path. zod's compiled validator costs ~6 µs per 1 KB event, mostly in generic
// machinery; the checks below are the same rules written out by hand. They only ever *accept*:
// anything they cannot vouch for (an unknown or `undefined` member, a non-plain object, a failed
// rule, a size bound too close to the limit) returns undefined and the caller runs zod, which
// decides and words the issues. So errors are zod's, and an accepted event is what zod returns:
// fresh objects for the schema's objects and array, `detail` by reference (as `z.custom` does).
// test/core/event-fast-path.test.ts checks this differentially against zod.
//
// Kept because it pays end to end (issue 14, item 5): `auditlock ingest` of 50,000 ~1 KB events,
// whole processes, 5 interleaved pairs on 2 loaded cores, with and without it: CPU 0.85x
// (0.81-1.01) with it, about 8 µs less per event; wall too noisy to call (1.02x, 0.66-1.28).
// ---------------------------------------------------------------------------------------------

let fastPathEnabled = true;

/** Turns the accept-only fast path of {@link parseEvent} on or off (for tests and benchmarks). */
export function setEventFastPath(enabled: boolean): void {
  fastPathEnabled = enabled;
}

type Plain = Record<string, unknown>;

/** A plain object (what JSON.parse makes), or undefined. */
function plain(value: unknown): Plain | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.getPrototypeOf(value) === Object.prototype ? (value as Plain) : undefined;
}

function isText(value: unknown, max: number, pattern = CLEAN_TEXT): value is string {
  return (
    typeof value === 'string' && value.length >= 1 && value.length <= max && pattern.test(value)
  );
}

function isToken(value: unknown): value is string {
  return isText(value, MAX_ID_LENGTH, VISIBLE_ASCII);
}

const ACTOR_TYPES = new Set(['user', 'role', 'service', 'system', 'anonymous']);
const OUTCOMES = new Set(['success', 'failure', 'unknown']);

/**
 * The event zod would return for `input`, when the hand-written checks can vouch for it;
 * undefined when zod must decide. Never accepts what zod refuses.
 */
export function acceptEvent(input: unknown): AuditEvent | undefined {
  const o = plain(input);
  if (o === undefined) return undefined;
  const out: Plain = {};
  let required = 0;
  for (const key in o) {
    const v = o[key];
    switch (key) {
      case 'id':
      case 'correlationId':
        if (!isToken(v)) return undefined;
        out[key] = v;
        break;
      case 'time':
        if (typeof v !== 'string' || !isRfc3339(v)) return undefined;
        out.time = v;
        required++;
        break;
      case 'action':
        if (!isText(v, MAX_TEXT)) return undefined;
        out.action = v;
        required++;
        break;
      case 'category':
        if (!isText(v, MAX_SHORT_TEXT)) return undefined;
        out.category = v;
        break;
      case 'actor': {
        const actor = acceptActor(v);
        if (actor === undefined) return undefined;
        out.actor = actor;
        required++;
        break;
      }
      case 'resources': {
        if (!Array.isArray(v) || v.length > MAX_RESOURCES) return undefined;
        const list: Plain[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const r = acceptResource(v[i]);
          if (r === undefined) return undefined;
          list[i] = r;
        }
        out.resources = list;
        break;
      }
      case 'outcome':
        if (typeof v !== 'string' || !OUTCOMES.has(v)) return undefined;
        out.outcome = v;
        required++;
        break;
      case 'reason': {
        const reason = acceptReason(v);
        if (reason === undefined) return undefined;
        out.reason = reason;
        break;
      }
      case 'source': {
        const source = acceptSource(v);
        if (source === undefined) return undefined;
        out.source = source;
        break;
      }
      case 'detail':
        if (plain(v) === undefined || checkDetail(v).length > 0) return undefined;
        out.detail = v;
        break;
      default:
        return undefined;
    }
  }
  if (required !== 4) return undefined;
  // The whole-event limit, as the schema's refinement bounds it; near the limit, zod decides.
  if (MAX_DETAIL_BYTES + sizeBound(out, 'detail') > MAX_EVENT_BYTES) return undefined;
  return out as AuditEvent;
}

type Check = (value: unknown) => boolean;
const textCheck =
  (max: number, pattern = CLEAN_TEXT): Check =>
  (v) =>
    isText(v, max, pattern);

/**
 * A copy of `value` when it is a plain object whose every member has a check that passes and
 * whose `required` members are present; else undefined (zod decides).
 */
function acceptFlat(
  value: unknown,
  fields: ReadonlyMap<string, Check>,
  required: readonly string[] = [],
): Plain | undefined {
  const o = plain(value);
  if (o === undefined) return undefined;
  const out: Plain = {};
  for (const key in o) {
    const v = o[key];
    const check = fields.get(key);
    if (check === undefined || !check(v)) return undefined;
    out[key] = v;
  }
  for (const key of required) if (out[key] === undefined) return undefined;
  return out;
}

const ACTOR_FIELDS = new Map<string, Check>([
  ['id', textCheck(MAX_TEXT)],
  ['name', textCheck(MAX_TEXT)],
  ['account', textCheck(MAX_TEXT)],
  ['sessionId', textCheck(MAX_TEXT)],
  ['type', (v) => typeof v === 'string' && ACTOR_TYPES.has(v)],
]);
const RESOURCE_FIELDS = new Map<string, Check>([
  ['type', textCheck(MAX_TEXT)],
  ['id', textCheck(MAX_LONG_TEXT)],
  ['name', textCheck(MAX_LONG_TEXT)],
  ['account', textCheck(MAX_TEXT)],
  ['region', textCheck(MAX_SHORT_TEXT)],
]);
const REASON_FIELDS = new Map<string, Check>([
  ['code', textCheck(MAX_TEXT)],
  ['message', textCheck(MAX_LONG_TEXT, CLEAN_PROSE)],
]);
const SOURCE_FIELDS = new Map<string, Check>([
  ['ip', (v) => typeof v === 'string' && (isIpv4(v) || isIpv6(v))],
  ['userAgent', textCheck(MAX_LONG_TEXT)],
  ['host', textCheck(MAX_TEXT)],
  ['service', textCheck(MAX_TEXT)],
  ['region', textCheck(MAX_SHORT_TEXT)],
]);

function acceptActor(value: unknown): Plain | undefined {
  return acceptFlat(value, ACTOR_FIELDS, ['id']);
}

function acceptResource(value: unknown): Plain | undefined {
  return acceptFlat(value, RESOURCE_FIELDS, ['type', 'id']);
}

function acceptReason(value: unknown): Plain | undefined {
  const out = acceptFlat(value, REASON_FIELDS);
  // The schema's refinement: at least one of code, message.
  return out && (out.code !== undefined || out.message !== undefined) ? out : undefined;
}

function acceptSource(value: unknown): Plain | undefined {
  return acceptFlat(value, SOURCE_FIELDS);
}

/**
 * Converts zod issues to dotted-path {@link InputIssue}s, one per unknown key.
 * @param allowedKeys per object path (`*` for array indices), to name the allowed keys
 */
export function issuesFromZod(
  zodIssues: readonly z.core.$ZodIssue[],
  allowedKeys: Record<string, readonly string[]> = {},
): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of zodIssues) {
    const path = issue.path.map(String);
    if (issue.code !== 'unrecognized_keys') {
      out.push({ path: path.join('.'), message: issue.message });
      continue;
    }
    const allowed = allowedKeys[path.map((p) => (/^\d+$/.test(p) ? '*' : p)).join('.')];
    const hint = allowed ? `; expected one of ${allowed.join(', ')}` : '';
    for (const key of issue.keys) {
      out.push({
        path: [...path, key].join('.'),
        message: `unknown field ${describeKey(key)}${hint}`,
      });
    }
  }
  return out;
}

/** One-line summary naming the first few issues; the full list stays in `issues`. */
export function summarise(what: string, issues: readonly InputIssue[], location?: string): string {
  const shown = issues.slice(0, 5).map((i) => `${i.path || '(top level)'}: ${i.message}`);
  if (issues.length > 5) shown.push(`and ${issues.length - 5} more`);
  return `${location ? `${location}: ` : ''}${what}: ${shown.join('; ')}`;
}

/** Per-parse zod error map: says what was expected and what was got. */
export function messageFor(iss: z.core.$ZodRawIssue): string | undefined {
  const got = iss.input;
  switch (iss.code) {
    case 'invalid_type':
      return `expected ${iss.expected}, got ${got === undefined ? 'nothing (field missing)' : describeValue(got)}`;
    case 'too_big':
      return `expected at most ${iss.maximum} ${unit(iss.origin, iss.maximum)}, got ${sizeOf(got)}`;
    case 'too_small':
      return `expected at least ${iss.minimum} ${unit(iss.origin, iss.minimum)}, got ${sizeOf(got)}`;
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(got)}`;
    case 'invalid_format':
      return `expected text matching ${iss.pattern ?? iss.format}, got ${describeValue(got)}`;
    default:
      return undefined;
  }
}

function unit(origin: string, n: number | bigint): string {
  const noun = origin === 'string' ? 'character' : origin === 'array' ? 'item' : origin;
  return n === 1 ? noun : `${noun}s`;
}

function sizeOf(value: unknown): number | string {
  return typeof value === 'string' || Array.isArray(value) ? value.length : describeValue(value);
}

/** A short, safe rendering of a value for messages: type, and up to 40 characters of text. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') {
    const short = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return value === '' ? 'empty string' : `string ${JSON.stringify(short)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

function describeKey(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

function badCharacter(
  input: unknown,
  pattern: RegExp,
  expected = 'text without control characters or unpaired surrogates',
): string {
  const s = String(input);
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    if (!pattern.test(ch)) {
      return `expected ${expected}, got U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${i}`;
    }
    if (cp > 0xffff) i++;
  }
  return `expected ${expected}`;
}

function checkDetail(value: unknown): InputIssue[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ path: '', message: `expected a JSON object, got ${describeValue(value)}` }];
  }
  // Canonicalising only to measure cost ~2 µs per event; a walk that bounds the size settles
  // almost every detail, and the exact encoding decides the rest (and words their issues).
  const bound = detailBound(value, 1);
  if (bound >= 0 && bound <= MAX_DETAIL_BYTES) return [];
  let encoded: string;
  try {
    encoded = canonicalize(value, { maxDepth: MAX_DETAIL_DEPTH });
  } catch (e) {
    if (e instanceof InputError) return [...e.issues];
    throw e;
  }
  const size = utf8Length(encoded);
  if (size <= MAX_DETAIL_BYTES) return [];
  return [
    {
      path: '',
      message: `expected at most ${MAX_DETAIL_BYTES} bytes canonically encoded, got ${size}`,
    },
  ];
}

/**
 * Upper bound on the canonical UTF-8 size of `value` nested `level` deep (`detail` itself is 1),
 * or -1 unless `canonicalize(detail, { maxDepth: MAX_DETAIL_DEPTH })` surely succeeds: only plain
 * JSON values, well-formed text, finite numbers, no holes. A UTF-16 unit takes at most 6 bytes
 * (`\u001f`), a number at most 25 characters (`-0.0000012345678901234567`).
 */
function detailBound(value: unknown, level: number): number {
  switch (typeof value) {
    case 'string':
      return LONE_SURROGATE.test(value) ? -1 : 6 * value.length + 2;
    case 'number':
      return Number.isFinite(value) ? 25 : -1;
    case 'boolean':
      return 5;
    case 'object': {
      if (value === null) return 4;
      if (level > MAX_DETAIL_DEPTH) return -1;
      let n = 2;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const b = detailBound(value[i], level + 1);
          if (b < 0) return -1;
          n += b + 1;
        }
        return n;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return -1;
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = record[key];
        if (item === undefined) continue;
        if (LONE_SURROGATE.test(key)) return -1;
        const b = detailBound(item, level + 1);
        if (b < 0) return -1;
        n += 6 * key.length + 4 + b;
      }
      return n;
    }
    default:
      return -1;
  }
}

/**
 * Upper bound on the canonical UTF-8 size of validated event fields (all but `skip`): that text
 * holds no C0 control other than TAB, LF, CR, so each UTF-16 unit takes at most 3 bytes, escaped or
 * not; each member adds at most its ASCII name, two quotes, a colon and a comma.
 */
function sizeBound(value: unknown, skip?: string): number {
  if (typeof value === 'string') return 3 * value.length + 2;
  if (typeof value !== 'object' || value === null) return 0;
  let n = 2;
  if (Array.isArray(value)) {
    for (const item of value) n += sizeBound(item) + 1;
    return n;
  }
  // for-in, not Object.entries: this runs on every event and the array allocation tripled its cost.
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (key !== skip && item !== undefined) n += key.length + 4 + sizeBound(item);
  }
  return n;
}

/** UTF-8 length of well-formed text, without encoding it. */
function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

const IPV4_PART = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${IPV4_PART}(?:\\.${IPV4_PART}){3}$`);
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** Dotted-quad IPv4 (RFC 791 text form) without leading zeros, which some parsers read as octal. */
export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** IPv6 text form of RFC 4291 §2.2: eight groups, one `::`, an optional IPv4 tail; no zone id. */
export function isIpv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const gap = s.indexOf('::');
  if (gap !== s.lastIndexOf('::')) return false;
  const head = gap < 0 ? s : s.slice(0, gap);
  const tail = gap < 0 ? '' : s.slice(gap + 2);
  const groups = [...(head ? head.split(':') : []), ...(tail ? tail.split(':') : [])];
  // The IPv4 tail may only be the last group written, so not before a trailing `::`.
  const ipv4Allowed = gap < 0 || tail !== '';
  let count = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    if (HEX_GROUP.test(g)) count += 1;
    else if (i === groups.length - 1 && ipv4Allowed && isIpv4(g)) count += 2;
    else return false;
  }
  return gap < 0 ? count === 8 : count <= 7;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * RFC 3339 §5.6 `date-time` with upper-case `T` and `Z`, at most 9 fraction digits, and a date that
 * exists. Leap seconds (`:60`) are refused: producers' clocks smear them.
 */
export function isRfc3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return false;
  // Field by field, not slice().map(): this runs on every event (2% of ingest time).
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  const offH = m[7] === undefined ? 0 : Number(m[7]);
  const offM = m[8] === undefined ? 0 : Number(m[8]);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offH <= 23 &&
    offM <= 59
  );
}

/** Days in `month` (1–12) of the proleptic Gregorian `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
