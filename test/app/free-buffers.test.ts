/**
 * freeNow detaches the buffers it is given (their memory goes at the next minor collection):
 * every view of them is then empty, and what cannot or need not be detached is left alone.
 */
import { describe, expect, it } from 'vitest';
import { freeNow } from '../../src/app/free-buffers.js';

describe('freeNow', () => {
  it('detaches each buffer: every view of it is then empty', () => {
    const a = new Uint8Array(100_000);
    const view = a.subarray(10, 20);
    const b = new Uint32Array(8);
    freeNow([a.buffer, b.buffer]);
    expect([a.length, view.length, b.length]).toEqual([0, 0, 0]);
    expect(a.buffer.byteLength).toBe(0);
  });

  it('takes the same buffer twice, empty and detached buffers, and leaves shared memory alone', () => {
    const a = new Uint8Array(16);
    const shared = new Uint8Array(new SharedArrayBuffer(16));
    freeNow([a.buffer, a.buffer, new ArrayBuffer(0), shared.buffer]);
    expect(a.length).toBe(0);
    freeNow([a.buffer]);
    expect(shared.length).toBe(16);
  });
});
