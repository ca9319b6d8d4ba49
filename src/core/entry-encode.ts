/**
 * Making entries and encoding them (the entry format is described in entry.ts and
 * docs/FORMAT.md §3). Apart from entry.ts's schemas, which read stored entries, so that a writer
 * loads no zod: ingest's sealing thread makes entries here only for quarantined lines and lost
 * races, and its parse threads make the rest (issue 14: zod and its schemas were 7-13 MiB of the
 * CLI's peak RSS).
 */
import { canonicalize } from './canonical-json.js';
import { checkDelivery } from './delivery.js';
import { fromUtf8, toBase64, utf8 } from './encoding.js';
import type { Delivery, Entry, EventEntry, QuarantineEntry } from './entry.js';
import { AuditlockError, InputError } from './errors.js';
import type { AuditEvent } from './event.js';
import { sha256 } from './hash.js';
import { MAX_ENTRY_BYTES } from './limits.js';
import { formatTimestamp } from './timestamp.js';

/** Most input bytes a quarantine entry keeps. */
export const QUARANTINE_RAW_MAX = 64 * 1024;
export const MAX_QUARANTINE_ISSUES = 20;
export const MAX_ERROR_MESSAGE = 2048;
export const MAX_ISSUE_PATH = 256;
export const MAX_ISSUE_MESSAGE = 512;

const LONE_SURROGATES = /[\uD800-\uDFFF]/gu;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these force base64 in quarantine raw data
export const UNREADABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/**
 * An entry for an accepted event. `event` must come from `parseEvent`; it is not validated again.
 * @throws InputError `DELIVERY_INVALID`, `TIMESTAMP_INVALID`
 */
export function makeEventEntry(
  event: AuditEvent,
  receivedAtMs: number,
  delivery?: Delivery,
): EventEntry {
  const entry: EventEntry = { kind: 'event', receivedAt: formatTimestamp(receivedAtMs), event };
  if (delivery !== undefined) entry.delivery = checkDelivery(delivery);
  return entry;
}

/**
 * An entry keeping input that failed validation, with its error. Long error text is clipped and
 * unpaired surrogates replaced by U+FFFD, so any error can be stored.
 * @throws InputError `DELIVERY_INVALID`, `TIMESTAMP_INVALID`; AuditlockError `ERROR_CODE_INVALID`
 */
export function makeQuarantineEntry(
  raw: Uint8Array,
  error: InputError | AuditlockError,
  receivedAtMs: number,
  delivery?: Delivery,
): QuarantineEntry {
  if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(error.code)) {
    throw new AuditlockError(
      'ERROR_CODE_INVALID',
      `expected an UPPER_SNAKE error code, got ${error.code}`,
    );
  }
  const issues = error instanceof InputError ? error.issues.slice(0, MAX_QUARANTINE_ISSUES) : [];
  const entry: QuarantineEntry = {
    kind: 'quarantine',
    receivedAt: formatTimestamp(receivedAtMs),
    error: {
      code: error.code,
      message: clip(error.message, MAX_ERROR_MESSAGE),
      issues: issues.map((i) => ({
        path: clip(i.path, MAX_ISSUE_PATH),
        message: clip(i.message, MAX_ISSUE_MESSAGE),
      })),
    },
    raw: describeRaw(raw),
  };
  if (delivery !== undefined) entry.delivery = checkDelivery(delivery);
  return entry;
}

/**
 * The stored bytes of `entry`: canonical JSON, UTF-8.
 * @throws AuditlockError `ENTRY_TOO_LARGE`; InputError `CANONICAL_JSON_INVALID` for non-JSON values
 */
export function encodeEntry(entry: Entry): Uint8Array {
  const text = canonicalize(entry);
  // JCS escapes U+000A inside strings and adds no whitespace, so this cannot happen; the segment
  // format relies on it, hence the check.
  if (text.includes('\n'))
    throw new AuditlockError('ENTRY_NEWLINE', 'canonical entry holds a line feed');
  const bytes = utf8(text);
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw new AuditlockError(
      'ENTRY_TOO_LARGE',
      `expected at most ${MAX_ENTRY_BYTES} bytes per entry, got ${bytes.length}`,
    );
  }
  return bytes;
}

/** Text when `bytes` is valid UTF-8 with no C0 control other than TAB, LF, CR; else undefined. */
export function readableText(bytes: Uint8Array): string | undefined {
  try {
    const text = fromUtf8(bytes);
    return UNREADABLE.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

function describeRaw(bytes: Uint8Array): QuarantineEntry['raw'] {
  const truncated = bytes.length > QUARANTINE_RAW_MAX;
  const kept = truncated ? bytes.subarray(0, QUARANTINE_RAW_MAX) : bytes;
  const text = readableText(kept);
  return {
    encoding: text === undefined ? 'base64' : 'utf8',
    data: text ?? toBase64(kept),
    size: bytes.length,
    truncated,
    sha256: toBase64(sha256(bytes)),
  };
}

function clip(text: string, max: number): string {
  return (text.length > max ? text.slice(0, max) : text).replace(LONE_SURROGATES, '\uFFFD');
}
