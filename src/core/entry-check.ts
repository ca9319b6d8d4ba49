/**
 * The verifier's per-entry check. The structural check (valid UTF-8 JSON object, known `kind`,
 * valid `receivedAt`) costs less than one JSON.parse; a {@link StrictEntryCheck} (entry.ts's
 * `decodeEntry`) replaces it with full schema validation. The strict check is given by the caller
 * rather than imported, because it is made of zod schemas: this module, and the verification
 * worker threads that load it, load no zod (a worker imports `decodeEntry` when a strict job
 * comes; verify-worker.ts).
 *
 * The structural check has two paths and one outcome. The fast path, {@link scanEntry}, reads the
 * bytes once without building the JSON value: decoding and `JSON.parse` were a third of the
 * verifier's time (docs/PERFORMANCE.md). It can only *accept*. Whenever it cannot vouch for the
 * bytes (invalid UTF-8 or JSON, not an object, a `kind` other than the plain string `event`,
 * `quarantine` or `sealed-event`, a `receivedAt` that is not a plain ASCII string, an escaped top-level key),
 * {@link checkParsed} decides and words the finding with `JSON.parse`, so results and messages are
 * exactly those of `JSON.parse`.
 *
 * The fast path is kept because it pays end to end (issue 14, item 5): `auditlock verify` of a
 * 50,000-event log, whole processes, 7 interleaved pairs on 2 loaded cores, with and without it:
 * CPU 0.93x (0.84-0.98) and wall 0.92x (0.75-0.99) with it, about 2 µs less per entry.
 * Since its rewrite (below) the gap is wider: 1.8 µs per ~1.2 KB bench entry against 4.9 µs for
 * decoding and `JSON.parse` alone (same machine, same entries, 2026-12-02).
 *
 * Two bounds come before either path, because stored bytes are hostile and `JSON.parse` of a
 * large deeply nested value costs far more memory than its size (docs/FORMAT.md §3): an entry
 * longer than {@link MAX_ENTRY_BYTES} and one nested deeper than {@link MAX_ENTRY_DEPTH} are
 * invalid without being parsed. No valid entry comes near either.
 */
import { isUtf8 } from 'node:buffer';
import { MAX_ENTRY_BYTES } from './limits.js';
import { parseTimestamp } from './timestamp.js';

export type EntryCheck =
  | { readonly ok: true; readonly kind: EntryKind; readonly receivedAt: number }
  | { readonly ok: false; readonly detail: string };

/** The entry kinds of docs/FORMAT.md §3. */
export type EntryKind = 'event' | 'quarantine' | 'sealed-event';

/**
 * Full validation of an entry's bytes (entry.ts's `decodeEntry`): MUST return the entry's `kind`
 * and `receivedAt` when the bytes are exactly the canonical encoding of a valid entry, and throw
 * otherwise; the error's message becomes the finding's detail.
 */
export type StrictEntryCheck = (bytes: Uint8Array) => {
  readonly kind: EntryKind;
  readonly receivedAt: string;
};

/**
 * Deepest nesting of arrays and objects an entry may have. A valid entry nests at most
 * 34 deep (entry, event, then the 32 levels `detail` may have); deeper bytes are not an entry.
 */
export const MAX_ENTRY_DEPTH = 64;

/**
 * Checks one stored entry: structurally, or with `strict` when one is given. Never throws (what
 * `strict` throws becomes the result's detail).
 */
export function checkEntryBytes(bytes: Uint8Array, strict?: StrictEntryCheck): EntryCheck {
  if (bytes.length > MAX_ENTRY_BYTES)
    return {
      ok: false,
      detail: `entry is ${bytes.length} bytes, more than the ${MAX_ENTRY_BYTES} an entry may have`,
    };
  if (strict) {
    if (nestsDeeperThan(bytes, MAX_ENTRY_DEPTH)) return tooDeep();
    try {
      const entry = strict(bytes);
      return { ok: true, kind: entry.kind, receivedAt: parseTimestamp(entry.receivedAt) };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }
  const scanned = scanEntry(bytes);
  if (scanned) {
    try {
      return { ok: true, kind: scanned.kind, receivedAt: receivedAtMs(scanned.receivedAt) };
    } catch {} // not a timestamp: checkParsed words the finding
  }
  return checkParsed(bytes);
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function tooDeep(): EntryCheck {
  return { ok: false, detail: `entry nests arrays/objects deeper than ${MAX_ENTRY_DEPTH}` };
}

/** The structural check by `JSON.parse`: the reference the fast path agrees with. */
function checkParsed(bytes: Uint8Array): EntryCheck {
  if (nestsDeeperThan(bytes, MAX_ENTRY_DEPTH)) return tooDeep();
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, detail: 'entry is not UTF-8 JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, detail: 'entry is not a JSON object' };
  const { kind, receivedAt } = value as { kind?: unknown; receivedAt?: unknown };
  if (kind !== 'event' && kind !== 'quarantine' && kind !== 'sealed-event')
    return {
      ok: false,
      detail: `entry kind ${JSON.stringify(kind)} is not event, quarantine or sealed-event`,
    };
  if (typeof receivedAt !== 'string') return { ok: false, detail: 'entry has no receivedAt' };
  try {
    return { ok: true, kind, receivedAt: receivedAtMs(receivedAt) };
  } catch {
    return {
      ok: false,
      detail: `entry receivedAt ${JSON.stringify(receivedAt)} is not a timestamp`,
    };
  }
}

/**
 * The last `receivedAt` text that parsed, and its value (seeded with a valid pair). Entries
 * stored at high rates share their millisecond with their neighbours, and a strict timestamp
 * parse (pattern, `Date.parse`, round trip) costs a sixth of a JSON.parse of the whole entry.
 */
let lastReceivedText = '1970-01-01T00:00:00.000Z';
let lastReceivedMs = 0;

/** @throws InputError `TIMESTAMP_INVALID` from {@link parseTimestamp} */
function receivedAtMs(text: string): number {
  if (text !== lastReceivedText) {
    lastReceivedMs = parseTimestamp(text);
    lastReceivedText = text;
  }
  return lastReceivedMs;
}

// The fast path: an RFC 8259 JSON recogniser over bytes that keeps two top-level members. It runs
// synchronously, so its scratch state lives at module level instead of being allocated per entry.
// It is written for the shape of stored entries (canonical JSON: no whitespace, short strings,
// few numbers): whitespace is looked for only at a byte <= 0x20, plain string content is skipped
// four bytes at a time, and keys and kinds are told apart by their length first. Against the
// scanner before it (whitespace skipped by four compares at every token, a byte at a time in
// strings), 3.4 -> 1.8 µs per ~1.2 KB bench entry (checkEntryBytes alone, 2026-12-02, 2 cores).

/** The scanner accepts exactly the nesting an entry may have. */
const MAX_SCAN_DEPTH = MAX_ENTRY_DEPTH;
/** The open containers (`{` or `[`), outermost first. */
const open = new Uint8Array(MAX_SCAN_DEPTH);
/** Top-level members the scanner keeps, and the rest. */
const OTHER_MEMBER = 0;
const KIND_MEMBER = 1;
const RECEIVED_AT_MEMBER = 2;

/** Which top-level member the key read last by {@link readKey} names. */
let lastKey = OTHER_MEMBER;
/** Whether the string read last by {@link stringEnd} holds an escape. */
let escaped = false;

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** Bytes that end a run of plain string content: the quote, the backslash, control characters. */
const STRING_STOP = new Uint8Array(256).map((_, c) =>
  c < SPACE || c === QUOTE || c === BACKSLASH ? 1 : 0,
);
/** Characters allowed after a backslash other than `u` (RFC 8259 §7), as a byte table. */
const SIMPLE_ESCAPE = new Uint8Array(256).map((_, c) =>
  '"\\/bfnrt'.includes(String.fromCharCode(c)) ? 1 : 0,
);
/** Hexadecimal digits, as a byte table. */
const HEX_DIGIT = new Uint8Array(256).map((_, c) =>
  /[0-9A-Fa-f]/.test(String.fromCharCode(c)) ? 1 : 0,
);

/**
 * `kind` and `receivedAt` of the entry, when `bytes` is valid UTF-8 holding exactly one JSON
 * object (RFC 8259, surrounding whitespace allowed) whose last `kind` member is the plain string
 * `event`, `quarantine` or `sealed-event`, whose last `receivedAt` member is a plain ASCII string (no escapes),
 * and whose top-level keys have no escapes. Otherwise undefined: then nothing is known.
 */
function scanEntry(bytes: Uint8Array): { kind: EntryKind; receivedAt: string } | undefined {
  if (!isUtf8(bytes)) return undefined;
  const n = bytes.length;
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== LBRACE) return undefined;
  let depth = 0;
  let member = OTHER_MEMBER;
  let kind: EntryKind | undefined;
  let receivedAt: string | undefined;
  value: for (;;) {
    // A value starts at i.
    let c = bytes[i] as number;
    if (c <= SPACE) {
      i = skipSpace(bytes, i);
      c = bytes[i] as number;
    }
    const topMember = depth === 1 ? member : OTHER_MEMBER;
    if (c === QUOTE) {
      const end = stringEnd(bytes, i, n);
      if (end < 0) return undefined;
      if (topMember !== OTHER_MEMBER) {
        if (escaped) return undefined;
        if (topMember === KIND_MEMBER) {
          kind = kindOf(bytes, i + 1, end);
          if (kind === undefined) return undefined;
        } else {
          receivedAt = asciiText(bytes, i + 1, end);
          if (receivedAt === undefined) return undefined;
        }
      }
      i = end + 1;
    } else if (c === LBRACE || c === LBRACKET) {
      if (depth === MAX_SCAN_DEPTH || topMember !== OTHER_MEMBER) return undefined;
      open[depth++] = c;
      i = skipSpace(bytes, i + 1);
      if (bytes[i] !== (c === LBRACE ? RBRACE : RBRACKET)) {
        if (c === LBRACE) {
          i = readKey(bytes, i, depth, n);
          if (i < 0) return undefined;
          member = lastKey;
        }
        continue;
      }
      i++; // an empty container
      depth--;
    } else {
      if (topMember !== OTHER_MEMBER) return undefined;
      i = literalEnd(bytes, i);
      if (i < 0) return undefined;
    }
    // A value ended at i: next comes a comma or the end of its container.
    for (;;) {
      let next = bytes[i];
      if (next !== undefined && next <= SPACE) {
        i = skipSpace(bytes, i);
        next = bytes[i];
      }
      if (depth === 0) {
        if (i !== n || kind === undefined || receivedAt === undefined) return undefined;
        return { kind, receivedAt };
      }
      const container = open[depth - 1];
      if (next === COMMA) {
        i++;
        if (container === LBRACE) {
          i = readKey(bytes, i, depth, n);
          if (i < 0) return undefined;
          member = lastKey;
        }
        continue value;
      }
      if (next !== (container === LBRACE ? RBRACE : RBRACKET)) return undefined;
      i++;
      depth--;
    }
  }
}

/**
 * Whether `bytes` open more than `max` arrays/objects at once, counting brackets outside JSON
 * strings. Exact for valid JSON; for invalid JSON either answer leads to the same finding, since
 * such bytes are no entry. One pass, no allocation: it runs before `JSON.parse` ever sees the bytes.
 */
export function nestsDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      // Skip the string: to the next quote not escaped by a backslash.
      for (i++; i < n && bytes[i] !== QUOTE; i++) if (bytes[i] === BACKSLASH) i++;
    } else if (c === LBRACE || c === LBRACKET) {
      if (++depth > max) return true;
    } else if (c === RBRACE || c === RBRACKET) depth--;
  }
  return false;
}

/** Reads `"key":` at `from` (whitespace allowed); the index after the colon, or -1. */
function readKey(bytes: Uint8Array, from: number, depth: number, n: number): number {
  const i = bytes[from] === QUOTE ? from : skipSpace(bytes, from);
  if (bytes[i] !== QUOTE) return -1;
  const end = stringEnd(bytes, i, n);
  if (end < 0) return -1;
  lastKey = OTHER_MEMBER;
  if (depth === 1) {
    if (escaped) return -1; // an escaped key could spell `kind`: only JSON.parse can tell
    const length = end - i - 1;
    if (length === 4 && isText(bytes, i + 1, 'kind')) lastKey = KIND_MEMBER;
    else if (length === 10 && isText(bytes, i + 1, 'receivedAt')) lastKey = RECEIVED_AT_MEMBER;
  }
  const colon = bytes[end + 1] === COLON ? end + 1 : skipSpace(bytes, end + 1);
  return bytes[colon] === COLON ? colon + 1 : -1;
}

/** RFC 8259 §2: whitespace is space, tab, line feed, carriage return. */
function skipSpace(bytes: Uint8Array, from: number): number {
  let i = from;
  for (let c = bytes[i]; c === SPACE || c === LF || c === CR || c === TAB; c = bytes[++i]);
  return i;
}

/**
 * Index of the quote that closes the string opening at `from`, or -1 if it is not valid JSON;
 * sets {@link escaped}. `n` is `bytes.length`.
 */
function stringEnd(bytes: Uint8Array, from: number, n: number): number {
  escaped = false;
  let i = from + 1;
  for (;;) {
    // Plain content (also every byte of a multi-byte UTF-8 sequence), four bytes at a time.
    while (
      i + 3 < n &&
      (STRING_STOP[bytes[i] as number] as number) +
        (STRING_STOP[bytes[i + 1] as number] as number) +
        (STRING_STOP[bytes[i + 2] as number] as number) +
        (STRING_STOP[bytes[i + 3] as number] as number) ===
        0
    )
      i += 4;
    while (i < n && STRING_STOP[bytes[i] as number] === 0) i++;
    if (i >= n) return -1;
    const c = bytes[i] as number;
    if (c === QUOTE) return i;
    if (c !== BACKSLASH) return -1; // RFC 8259 §7: control characters must be escaped
    escaped = true;
    const e = bytes[i + 1];
    if (e === 0x75) {
      // \uXXXX
      if (i + 5 >= n) return -1;
      for (let k = 2; k <= 5; k++) if (HEX_DIGIT[bytes[i + k] as number] === 0) return -1;
      i += 6;
    } else if (e !== undefined && SIMPLE_ESCAPE[e] === 1) i += 2;
    else return -1;
  }
}

/** End (exclusive) of the number, `true`, `false` or `null` at `from`, or -1. */
function literalEnd(bytes: Uint8Array, from: number): number {
  const c = bytes[from];
  if (c === 0x74) return isText(bytes, from, 'true') ? from + 4 : -1;
  if (c === 0x66) return isText(bytes, from, 'false') ? from + 5 : -1;
  if (c === 0x6e) return isText(bytes, from, 'null') ? from + 4 : -1;
  // RFC 8259 §6: -? (0 | [1-9] digit*) (. digit+)? ([eE] [+-]? digit+)?
  let i = from;
  if (bytes[i] === MINUS) i++;
  if (bytes[i] === 0x30) i++;
  else if (isDigit(bytes[i])) i = digitsEnd(bytes, i);
  else return -1;
  if (bytes[i] === 0x2e) {
    if (!isDigit(bytes[i + 1])) return -1;
    i = digitsEnd(bytes, i + 1);
  }
  if (bytes[i] === 0x65 || bytes[i] === 0x45) {
    i++;
    if (bytes[i] === 0x2b || bytes[i] === MINUS) i++;
    if (!isDigit(bytes[i])) return -1;
    i = digitsEnd(bytes, i);
  }
  return i;
}

function digitsEnd(bytes: Uint8Array, from: number): number {
  let i = from;
  while (isDigit(bytes[i])) i++;
  return i;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** Whether the bytes from `start` begin with the ASCII text `word` (within `bytes`). */
function isText(bytes: Uint8Array, start: number, word: string): boolean {
  if (start + word.length > bytes.length) return false;
  for (let k = 0; k < word.length; k++) if (bytes[start + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** The kind spelled by bytes `[start, end)` of an unescaped string, or undefined. */
function kindOf(bytes: Uint8Array, start: number, end: number): EntryKind | undefined {
  const length = end - start;
  if (length === 5 && isText(bytes, start, 'event')) return 'event';
  if (length === 10 && isText(bytes, start, 'quarantine')) return 'quarantine';
  if (length === 12 && isText(bytes, start, 'sealed-event')) return 'sealed-event';
  return undefined;
}

/**
 * Bytes `[start, end)` of an unescaped string as text if they are all ASCII, else undefined. Most
 * entries repeat the previous entry's `receivedAt`, which is then reused rather than built again.
 */
function asciiText(bytes: Uint8Array, start: number, end: number): string | undefined {
  if (end - start === lastReceivedText.length && isText(bytes, start, lastReceivedText))
    return lastReceivedText;
  if (end - start > 64) return undefined; // no timestamp; and keeps `apply` below small
  for (let k = start; k < end; k++) if ((bytes[k] as number) > 0x7e) return undefined;
  return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
}
