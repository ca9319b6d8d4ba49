/**
 * The read bound every store adapter applies (`ReadOptions.maxBytes` in `src/core/ports.ts`): a
 * store never reads or buffers more than `maxBytes + 1` bytes of a larger object, because what a
 * store holds is attacker-controlled and one planted multi-GiB object must not exhaust memory.
 */
import { StorageError } from '../core/errors.js';
import type { ReadOptions } from '../core/ports.js';

/** Codes of the errors a bounded read throws, shared by every store adapter. */
export type ReadErrorCode =
  /** The object is larger than the caller's `maxBytes` (or than {@link MAX_READ_BYTES}). */
  | 'OBJECT_TOO_LARGE'
  /** Something at the key is not a readable regular object (folder store: a symlink, a FIFO…). */
  | 'OBJECT_UNREADABLE';

/**
 * The bound of a read without `maxBytes`: 2 GiB - 1, the most `fs.readFile` reads at once and far
 * above any object the format allows (a segment is at most 64 MiB). Fixed rather than Node's
 * buffer limit, which differs between Node versions.
 */
export const MAX_READ_BYTES = 2 ** 31 - 1;

/**
 * The byte limit of one read: `options.maxBytes`, or {@link MAX_READ_BYTES} if absent.
 * @throws RangeError if `maxBytes` is not a non-negative safe integer (a caller's bug, not data)
 */
export function readLimitOf(options: ReadOptions | undefined): number {
  const max = options?.maxBytes;
  if (max === undefined) return MAX_READ_BYTES;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new RangeError(`maxBytes must be a non-negative safe integer, got ${String(max)}`);
  }
  return Math.min(max, MAX_READ_BYTES);
}

/**
 * StorageError `OBJECT_TOO_LARGE` (not retryable: the object will not shrink). `size` is the
 * object's size when known, else `undefined` (the read stopped at `limit + 1` bytes).
 */
export function objectTooLarge(
  where: string,
  size: number | undefined,
  limit: number,
): StorageError<'OBJECT_TOO_LARGE'> {
  const what = size === undefined ? `more than ${limit} bytes` : `${size} bytes`;
  return new StorageError(
    'OBJECT_TOO_LARGE',
    `${where} holds ${what}, over the read limit of ${limit} bytes; not read`,
    { retryable: false },
  );
}

/** StorageError `OBJECT_UNREADABLE` (not retryable: the layout must be repaired by a human). */
export function objectUnreadable(
  where: string,
  why: string,
  cause?: unknown,
): StorageError<'OBJECT_UNREADABLE'> {
  return new StorageError('OBJECT_UNREADABLE', `${where} ${why}; not read`, {
    retryable: false,
    cause,
  });
}

/**
 * Collects `chunks` into one buffer, stopping (and calling `abort`) as soon as more than `limit`
 * bytes have arrived, so at most one chunk past the limit is ever held. For streamed bodies whose
 * declared length cannot be trusted (a chunked response has none).
 * @throws StorageError `OBJECT_TOO_LARGE` past the limit; whatever `chunks` throws
 */
export async function collectBounded(
  chunks: AsyncIterable<Uint8Array>,
  limit: number,
  where: string,
  abort: () => void,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.byteLength;
    if (total > limit) {
      abort();
      throw objectTooLarge(where, undefined, limit);
    }
    parts.push(chunk);
  }
  // The caller owns the result and may detach it: hand out a lone chunk only if it owns its memory.
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only !== undefined && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) {
    return new Uint8Array(only.buffer, 0, only.byteLength); // a plain view, not a Buffer
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
