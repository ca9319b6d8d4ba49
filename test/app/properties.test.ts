/**
 * Properties of the whole archive: any sequence archives and verifies, the tree does not depend on
 * how entries were batched into segments, and any single-byte change of any stored object is found.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { verifyStore } from '../../src/app/verify.js';
import type { Finding } from '../../src/core/findings.js';
import type { ObjectInfo } from '../../src/core/ports.js';
import { logFixture, makeKey, sampleEvent } from '../helpers/log-fixture.js';

const key = makeKey();
const constantClock = { now: () => Date.UTC(2026, 10, 26, 9, 0, 0) };

async function archive(
  count: number,
  perSegment: number,
  encoding: 'identity' | 'gzip' = 'identity',
) {
  const store = new MemoryStore();
  const fx = logFixture(store, key);
  const archiver = await fx.open({ maxEvents: perSegment, encoding, clock: constantClock });
  const stored: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) stored.push((await archiver.submit(sampleEvent(i))).stored);
  await archiver.close();
  await Promise.all(stored);
  return store;
}

async function findingsOf(
  store: MemoryStore,
): Promise<{ findings: Finding[]; root?: string; size?: number }> {
  const findings: Finding[] = [];
  const r = await verifyStore(store, {
    trustedKeys: [key.trusted],
    onFinding: (f) => findings.push(f),
  });
  return { findings, root: r.logs[0]?.root, size: r.logs[0]?.treeSize };
}

async function keys(store: MemoryStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('') as AsyncIterable<ObjectInfo>) out.push(o.key);
  return out;
}

describe('archive properties', () => {
  it('any number of events in any segment size archives and verifies clean', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 25 }),
        fc.boolean(),
        async (n, per, gzip) => {
          const { findings, size } = await findingsOf(
            await archive(n, per, gzip ? 'gzip' : 'identity'),
          );
          expect(findings).toEqual([]);
          expect(size).toBe(n);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('the tree root does not depend on how events were batched into segments', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        async (n, a, b) => {
          const [x, y] = await Promise.all([
            findingsOf(await archive(n, a)),
            findingsOf(await archive(n, b)),
          ]);
          expect(x.root).toBeDefined();
          expect(x.root).toBe(y.root);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('any single-byte change in any stored object is detected', async () => {
    const store = await archive(24, 8, 'identity');
    const gz = await archive(24, 8, 'gzip');
    const objects: { store: MemoryStore; key: string; bytes: Uint8Array }[] = [];
    for (const s of [store, gz])
      for (const k of await keys(s))
        objects.push({ store: s, key: k, bytes: (await s.get(k)) as Uint8Array });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: objects.length - 1 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 255 }),
        async (which, where, xor) => {
          const o = objects[which] as (typeof objects)[number];
          const tampered = Uint8Array.from(o.bytes);
          const at = Math.floor(where * tampered.length);
          tampered[at] = (tampered[at] as number) ^ xor;
          o.store.tamperReplace(o.key, tampered);
          try {
            const { findings } = await findingsOf(o.store);
            expect(findings.length, `byte ${at} of ${o.key} changed`).toBeGreaterThan(0);
          } finally {
            o.store.tamperReplace(o.key, o.bytes);
          }
        },
      ),
      { numRuns: 300 },
    );
    expect((await findingsOf(store)).findings).toEqual([]);
  });

  it('every single byte of the head segment (no successor to link it) is covered', async () => {
    const store = await archive(5, 3, 'gzip');
    const all = await keys(store);
    const head = all[all.length - 1] as string;
    const original = (await store.get(head)) as Uint8Array;
    const missed: number[] = [];
    for (let at = 0; at < original.length; at++) {
      const tampered = Uint8Array.from(original);
      tampered[at] = (tampered[at] as number) ^ (1 << (at % 8));
      store.tamperReplace(head, tampered);
      if ((await findingsOf(store)).findings.length === 0) missed.push(at);
    }
    store.tamperReplace(head, original);
    expect(missed).toEqual([]);
  });
});
