/**
 * One line of JSON Lines input, as bytes: the checks that come before the event schema, so that
 * what is sealed is what was received (docs/FORMAT.md §3.1). In order:
 *
 * 1. at most {@link MAX_EVENT_LINE_BYTES} bytes (`EVENT_TOO_LARGE`), checked before decoding;
 * 2. strict UTF-8 (`UTF8_INVALID`): an invalid sequence is refused, never replaced by U+FFFD;
 * 3. strict JSON (`JSON_INVALID`, `JSON_DUPLICATE_MEMBER`, `JSON_NUMBER_INEXACT`, see
 *    strict-json.ts), then the event rules (`EVENT_INVALID`), checked by the validator given:
 *    `parseEvent` (event.ts, the zod schema) or, on a thread that has not loaded the schema,
 *    `acceptOnlyEvent` (event-accept.ts). This module loads neither.
 */
import { InputError } from './errors.js';
import type { AuditEvent } from './event.js';
import type { EventValidator } from './event-accept.js';
import { MAX_EVENT_BYTES, MAX_EVENT_LINE_LENGTH } from './limits.js';
import { parseJsonStrict } from './strict-json.js';

/** Longest line, in bytes: twice the event limit leaves room for whitespace and `\uXXXX` escapes. */
export const MAX_EVENT_LINE_BYTES = 2 * MAX_EVENT_BYTES;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses one line of text (`parseEventLine` of event.ts with the validator given): the length
 * limit in UTF-16 code units before parsing, strict JSON, then `validate`.
 * @param lineNumber 1-based, used in the location `line N`
 * @throws InputError `EVENT_TOO_LARGE`, `JSON_INVALID`, `JSON_DUPLICATE_MEMBER`,
 *   `JSON_NUMBER_INEXACT`; whatever `validate` throws
 */
export function readEventLine(
  line: string,
  lineNumber: number,
  validate: EventValidator,
): AuditEvent {
  const location = `line ${lineNumber}`;
  if (line.length > MAX_EVENT_LINE_LENGTH) {
    const message = `expected at most ${MAX_EVENT_LINE_LENGTH} characters, got ${line.length}`;
    throw new InputError('EVENT_TOO_LARGE', `${location}: ${message}`, {
      location,
      issues: [{ path: '', message }],
    });
  }
  return validate(parseJsonStrict(line, location), location);
}

/**
 * Parses and validates one line given as bytes (without its line ending).
 * @param lineNumber 1-based, used in the location `line N`
 * @param validate the event rules: `parseEvent` (event.ts), or `acceptOnlyEvent`
 * @throws InputError `EVENT_TOO_LARGE`, `UTF8_INVALID`, or any code of {@link readEventLine};
 *   whatever `validate` throws
 */
export function parseEventBytes(
  bytes: Uint8Array,
  lineNumber: number,
  validate: EventValidator,
): AuditEvent {
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
  return readEventLine(text, lineNumber, validate);
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
