import { describe, expect, it } from 'vitest';
import {
  assertListPrefix,
  assertObjectKey,
  compareKeys,
  MemoryStore,
} from '../../src/adapters/memory-store.js';
import { hasCode, InputError } from '../../src/core/errors.js';
import { describeStoreContract } from './store-contract.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describeStoreContract('MemoryStore', async () => ({ store: new MemoryStore() }));

describe('MemoryStore test-only tamper helpers', () => {
  it('tamperReplace overwrites an object, bypassing write-once', async () => {
    // Prepare
    const store = new MemoryStore();
    await store.putIfAbsent('seg/1', text('honest'));
    // Act
    store.tamperReplace('seg/1', text('forged'));
    // Assess
    expect(await store.get('seg/1')).toEqual(text('forged'));
    expect((await store.putIfAbsent('seg/1', text('forged'))).status).toBe('identical');
  });

  it('tamperDelete removes an object so the key can be written again', async () => {
    const store = new MemoryStore();
    await store.putIfAbsent('seg/1', text('honest'));
    expect(store.tamperDelete('seg/1')).toBe(true);
    expect(store.tamperDelete('seg/1')).toBe(false);
    expect(await store.exists('seg/1')).toBe(false);
    expect((await store.putIfAbsent('seg/1', text('other'))).status).toBe('created');
  });

  it('tamper helpers still validate keys', () => {
    const store = new MemoryStore();
    expect(() => store.tamperReplace('../x', text('x'))).toThrow(InputError);
    expect(() => store.tamperDelete('')).toThrow(InputError);
  });

  it('uses the given location', () => {
    expect(new MemoryStore({ location: 'memory:test' }).location).toBe('memory:test');
  });
});

describe('shared key rules', () => {
  it('assertObjectKey returns the segments of a valid key', () => {
    expect(assertObjectKey('prod/seg/00000000000000000042.seg')).toEqual([
      'prod',
      'seg',
      '00000000000000000042.seg',
    ]);
    expect(assertObjectKey('k'.repeat(1024))).toHaveLength(1);
    // 1,024 UTF-8 bytes is the limit, not 1,024 UTF-16 code units.
    expect(() => assertObjectKey('é'.repeat(513))).toThrow(InputError);
  });

  it('assertListPrefix accepts partial trailing segments', () => {
    for (const p of ['', 'a', 'a/', 'a/.', 'a/..', 'a/b.', 'prod/seg/0000']) {
      expect(() => assertListPrefix(p)).not.toThrow();
    }
    for (const p of ['/', 'a/../', './', 'a//b', 'a\u001f']) {
      let err: unknown;
      try {
        assertListPrefix(p);
      } catch (e) {
        err = e;
      }
      expect(hasCode(err, 'KEY_INVALID')).toBe(true);
    }
  });

  it('compareKeys orders by UTF-8 bytes', () => {
    expect(compareKeys('a', 'a')).toBe(0);
    expect(compareKeys('a-', 'a/')).toBeLessThan(0);
    expect(compareKeys('\uff61', '\u{1f600}')).toBeLessThan(0);
    expect('\uff61' < '\u{1f600}').toBe(false); // UTF-16 order disagrees
  });
});
