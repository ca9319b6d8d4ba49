/**
 * The shared read bound: `collectBounded` stops pulling a body as soon as it runs past the
 * limit (an endless body proves it never reads to the end), and `readLimitOf` turns a bad limit
 * into a caller bug rather than an unbounded read.
 */
import { describe, expect, it } from 'vitest';
import { collectBounded, MAX_READ_BYTES, readLimitOf } from '../../src/adapters/read-limit.js';
import { type AuditlockError, StorageError } from '../../src/core/errors.js';

/** An endless body of `chunkSize`-byte chunks that counts how many were pulled. */
function endless(chunkSize: number) {
  const state = { pulled: 0 };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      state.pulled++;
      yield new Uint8Array(chunkSize).fill(state.pulled % 256);
    }
  }
  return { chunks: chunks(), state };
}

async function* of(...parts: number[][]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Uint8Array.from(p);
}

describe('collectBounded', () => {
  it('stops an endless body one chunk past the limit and aborts it', async () => {
    // Prepare
    const { chunks, state } = endless(1000);
    let aborted = 0;
    // Act
    const err = await collectBounded(chunks, 4500, 'test:body', () => aborted++).catch(
      (e: unknown) => e,
    );
    // Assess
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('OBJECT_TOO_LARGE');
    expect((err as StorageError).retryable).toBe(false);
    expect(state.pulled).toBe(5);
    expect(aborted).toBe(1);
  });

  it('joins chunks of a body within the limit, exactly at it included', async () => {
    expect(await collectBounded(of([1, 2], [3], [], [4, 5]), 5, 'b', () => undefined)).toEqual(
      Uint8Array.from([1, 2, 3, 4, 5]),
    );
    expect(await collectBounded(of(), 0, 'b', () => undefined)).toEqual(new Uint8Array(0));
    const err = await collectBounded(of([1, 2], [3]), 2, 'b', () => undefined).catch(
      (e: unknown) => e,
    );
    expect((err as AuditlockError).code).toBe('OBJECT_TOO_LARGE');
  });

  it('hands out memory the caller owns: a plain Uint8Array, never a view into a shared buffer', async () => {
    const pool = new Uint8Array(64);
    async function* slices(): AsyncGenerator<Uint8Array> {
      yield pool.subarray(8, 16);
    }
    const got = await collectBounded(slices(), 100, 'b', () => undefined);
    expect(got.buffer).not.toBe(pool.buffer);
    expect(got.byteLength).toBe(8);
    async function* whole(): AsyncGenerator<Uint8Array> {
      yield Buffer.from([7, 8, 9]);
    }
    const plain = await collectBounded(whole(), 100, 'b', () => undefined);
    expect(Buffer.isBuffer(plain)).toBe(false);
    expect(plain).toEqual(Uint8Array.from([7, 8, 9]));
  });
});

describe('readLimitOf', () => {
  it('is maxBytes, or the fixed default bound without one', () => {
    expect(readLimitOf({ maxBytes: 0 })).toBe(0);
    expect(readLimitOf({ maxBytes: 64 })).toBe(64);
    expect(readLimitOf(undefined)).toBe(MAX_READ_BYTES);
    expect(readLimitOf({})).toBe(2 ** 31 - 1);
    expect(readLimitOf({ maxBytes: 2 ** 40 })).toBe(MAX_READ_BYTES);
  });

  it('rejects a limit that is not a non-negative safe integer', () => {
    for (const maxBytes of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => readLimitOf({ maxBytes })).toThrow(RangeError);
    }
  });
});
