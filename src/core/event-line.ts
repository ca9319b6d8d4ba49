/**
 * One line of JSON Lines input, as bytes: the checks that come before the event schema, so that
 * what is sealed is what was received (docs/FORMAT.md §3.1). In order:
 *
 * 1. at most {@link MAX_EVENT_LINE_BYTES} bytes (`EVENT_TOO_LARGE`), checked before decoding;
 * 2. strict UTF-8 (`UTF8_INVALID`): an invalid sequence is refused, never replaced by U+FFFD;
 * 3. strict JSON (`JSON_INVALID`, `JSON_DUPLICATE_MEMBER`, `JSON_NUMBER_INEXACT`, see
 *    strict-json.ts), then the event schema (`EVENT_INVALID`).
 */
import { InputError } from './errors.js';
import { type AuditEvent, MAX_EVENT_BYTES, parseEventLine } from './event.js';

/** Longest line, in bytes: twice the event limit leaves room for whitespace and `\uXXXX` escapes. */
export const MAX_EVENT_LINE_BYTES = 2 * MAX_EVENT_BYTES;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses and validates one line given as bytes (without its line ending).
 * @param lineNumber 1-based, used in the location `line N`
 * @throws InputError `EVENT_TOO_LARGE`, `UTF8_INVALID`, or any code of {@link parseEventLine}
 */
export function parseEventBytes(bytes: Uint8Array, lineNumber: number): AuditEvent {
  const location = `line ${lineNumber}`;
  if (bytes.length > MAX_EVENT_LINE_BYTES) {
    const message = `expected at most ${MAX_EVENT_LINE_BYTES} bytes, got ${bytes.length}`;
    throw new InputError('EVENT_TOO_LARGE', `${location}: ${message}`, {
      location,
      issues: [{ path: '', message }],
    });
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch (cause) {
    const at = firstInvalidUtf8(bytes);
    const message = `expected UTF-8 text, got an invalid byte sequence at byte ${at}`;
    throw new InputError('UTF8_INVALID', `${location}: ${message}`, {
      cause,
      location,
      issues: [{ path: '', message }],
    });
  }
  return parseEventLine(text, lineNumber);
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (RFC 3629 §4). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    const n =
      b < 0x80
        ? 1
        : b >= 0xc2 && b <= 0xdf
          ? 2
          : b >= 0xe0 && b <= 0xef
            ? 3
            : b >= 0xf0 && b <= 0xf4
              ? 4
              : 0;
    if (n === 0) return i;
    if (n > 1) {
      try {
        strictUtf8.decode(bytes.subarray(i, i + n));
      } catch {
        return i;
      }
    }
    i += n;
  }
  return bytes.length;
}
