/**
 * BufferPool hands out the buffers it was given back (no allocation in a steady state), never
 * one too small, keeps at most its bound, and frees what it does not keep.
 */
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/app/buffer-pool.js';

describe('BufferPool', () => {
  it('hands out a buffer given back, and a new one of its size when it has none', () => {
    const pool = new BufferPool(1024, 4);
    const a = pool.take();
    expect(a.byteLength).toBe(1024);
    pool.give(a.buffer);
    expect(pool.spare).toBe(1);
    const b = pool.take();
    expect(b.buffer).toBe(a.buffer);
    expect(pool.spare).toBe(0);
  });

  it('never hands out a spare smaller than asked for: frees it, and makes one with room to spare', () => {
    const pool = new BufferPool(1024, 4);
    const small = new ArrayBuffer(1024);
    pool.give(small);
    const big = pool.take(3000);
    expect(big.byteLength).toBeGreaterThanOrEqual(3000 + 3000 / 8);
    expect(small.byteLength).toBe(0);
    expect(pool.spare).toBe(0);
  });

  it('keeps at most its bound and frees the rest, and unusual sizes', () => {
    const pool = new BufferPool(1024, 2);
    const given = [1, 2, 3].map(() => new ArrayBuffer(1024));
    for (const b of given) pool.give(b);
    expect(pool.spare).toBe(2);
    expect(given[2]?.byteLength).toBe(0);
    const small = new ArrayBuffer(16);
    const huge = new ArrayBuffer(8192);
    pool.take();
    pool.give(small);
    pool.give(huge);
    expect(pool.spare).toBe(1);
    expect([small.byteLength, huge.byteLength]).toEqual([0, 0]);
  });
});
