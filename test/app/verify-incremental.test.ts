/**
 * Incremental verification with the verifier's own state (issue 9 item 2, FORMAT.md §10): runs
 * chained over appends equal a full verification, read only what is new, catch tampering after
 * the state, refuse hostile state records, and survive concurrent runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { verifyStore } from '../../src/app/verify.js';
import {
  type VerifyIncrementalOptions,
  verifyIncremental,
} from '../../src/app/verify-incremental.js';
import { loadVerifyState, peekVerifyState } from '../../src/app/verify-state.js';
import { canonicalize } from '../../src/core/canonical-json.js';
import { fromUtf8, utf8 } from '../../src/core/encoding.js';
import type { Finding } from '../../src/core/findings.js';
import { segmentKey } from '../../src/core/layout.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { encodeVerifyState, verifyStateKey } from '../../src/core/verify-state.js';
import { type LogFixture, logFixture, writeLog } from '../helpers/log-fixture.js';

const clock = { now: () => Date.UTC(2026, 11, 2, 3, 0, 0) };
const folders: string[] = [];
afterEach(async () => {
  for (const f of folders.splice(0)) await rm(f, { recursive: true, force: true });
});

type Run = Awaited<ReturnType<typeof verifyIncremental>> & { found: Finding[] };

async function run(
  fx: LogFixture,
  stateStore: ObjectStore,
  extra: Partial<VerifyIncrementalOptions> = {},
  store: ObjectStore = fx.store,
): Promise<Run> {
  const found: Finding[] = [];
  const result = await verifyIncremental({
    store,
    stateStore,
    clock,
    trustedKeys: [fx.key.trusted],
    onFinding: (f) => found.push(f),
    ...extra,
  });
  return { ...result, found };
}

async function full(fx: LogFixture) {
  const found: Finding[] = [];
  const result = await verifyStore(fx.store, {
    trustedKeys: [fx.key.trusted],
    onFinding: (f) => found.push(f),
  });
  return { result, found };
}

/** A store wrapper that counts requests by kind (archive reads must stay proportional to k). */
function counting(inner: ObjectStore) {
  const counts = { get: 0, exists: 0, list: 0, put: 0 };
  const store: ObjectStore = {
    location: inner.location,
    putIfAbsent: (k, b, o) => {
      counts.put++;
      return inner.putIfAbsent(k, b, o);
    },
    get: (k, o) => {
      counts.get++;
      return inner.get(k, o);
    },
    exists: (k) => {
      counts.exists++;
      return inner.exists(k);
    },
    list: (p, o) => {
      counts.list++;
      return inner.list(p, o);
    },
  };
  return { store, counts };
}

describe('chained runs', () => {
  it('a first run saves record 0, a run with nothing new saves nothing, appends are read alone', async () => {
    // Prepare: 40 entries in segments of 10.
    const fx = logFixture(new MemoryStore());
    const state = new MemoryStore({ location: 'memory:state' });
    await writeLog(fx, 40, 10);
    // Act: first run (no state).
    const first = await run(fx, state);
    // Assess
    expect(first.found).toEqual([]);
    expect(first.logs).toEqual([
      { log: 'main', from: undefined, to: { seq: 3, treeSize: 40 }, segmentsRead: 4, saved: 0 },
    ]);
    // Nothing new: nothing read, nothing saved.
    const again = await run(fx, state);
    expect(again.logs).toEqual([
      {
        log: 'main',
        from: { seq: 3, treeSize: 40 },
        to: { seq: 3, treeSize: 40 },
        segmentsRead: 0,
        saved: undefined,
      },
    ]);
    expect(again.ok).toBe(true);
    // 25 more entries: 3 new segments (10, 10, 5).
    await writeLog(fx, 25, 10, 40);
    const third = await run(fx, state);
    expect(third.logs[0]).toMatchObject({ from: { seq: 3 }, to: { seq: 6, treeSize: 65 } });
    expect(third.logs[0]?.segmentsRead).toBe(3);
    expect(third.logs[0]?.saved).toBe(1);
    const summary = third.verify.logs[0];
    const reference = (await full(fx)).result.logs[0];
    expect(summary?.incremental).toBe(true);
    expect(summary?.root).toBe(reference?.root);
    expect(summary?.treeSize).toBe(reference?.treeSize);
    expect(summary?.lastSegmentHash).toBe(reference?.lastSegmentHash);
    expect(summary?.latestCheckpoint).toBe(reference?.latestCheckpoint);
    expect(await peekVerifyState(state, 'main', 1, [fx.key.trusted])).toMatchObject({
      position: { seq: 6, treeSize: 65 },
    });
  });

  it('works on folder stores, several logs, a log added later', async () => {
    const root = await mkdtemp(join(tmpdir(), 'auditlock-incr-'));
    folders.push(root);
    const archive = new FolderStore(join(root, 'archive'));
    const state = new FolderStore(join(root, 'state'));
    // As the CLI does: folder stores are opened (created) before use.
    await archive.openForWriting();
    await state.openForWriting();
    const fx = logFixture(archive);
    await writeLog(fx, 12, 5, 0, { log: 'a', origin: 'audit.example.com/test/a' });
    const first = await run(fx, state);
    expect(first.logs.map((l) => [l.log, l.saved])).toEqual([['a', 0]]);
    await writeLog(fx, 8, 5, 0, { log: 'b', origin: 'audit.example.com/test/b' });
    await writeLog(fx, 3, 5, 12, { log: 'a', origin: 'audit.example.com/test/a' });
    const second = await run(fx, state);
    expect(second.found).toEqual([]);
    expect(second.logs).toEqual([
      {
        log: 'a',
        from: { seq: 2, treeSize: 12 },
        to: { seq: 3, treeSize: 15 },
        segmentsRead: 1,
        saved: 1,
      },
      { log: 'b', from: undefined, to: { seq: 1, treeSize: 8 }, segmentsRead: 2, saved: 0 },
    ]);
  });
});

describe('cost is proportional to the new segments', () => {
  it('after k new segments an incremental run reads k + 1 segments and probes O(log n) records', async () => {
    // Prepare: 64 segments of 2 entries, with 20 state records already (one per earlier run).
    const fx = logFixture(new MemoryStore());
    const stateInner = new MemoryStore({ location: 'memory:state' });
    for (let i = 0; i < 20; i++) {
      await writeLog(fx, 2, 2, i * 2);
      await run(fx, stateInner);
    }
    await writeLog(fx, 88, 2, 40);
    await run(fx, stateInner); // record 20 at segment 63
    const k = 3;
    await writeLog(fx, 2 * k, 2, 128);
    const archive = counting(fx.store);
    const state = counting(stateInner);
    // Act
    const result = await run(fx, state.store, {}, archive.store);
    // Assess: the state's segment (confirmation) plus the k new ones; one listing.
    expect(result.logs[0]).toMatchObject({ from: { seq: 63 }, to: { seq: 63 + k }, saved: 21 });
    expect(archive.counts.get).toBe(k + 1);
    expect(archive.counts.list).toBeLessThanOrEqual(2);
    // Newest of 21 records: about 2 log2(21) probes, one record read, one record written.
    expect(state.counts.exists).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(21)) + 2);
    expect(state.counts.get).toBe(1);
    expect(state.counts.put).toBe(1);
    // A full run reads every segment.
    const fullArchive = counting(fx.store);
    await run(fx, state.store, { full: true }, fullArchive.store);
    expect(fullArchive.counts.get).toBe(64 + k);
  });
});

describe('findings and tampering', () => {
  it('a tampered segment after the state is caught, and reported again on the next run', async () => {
    const fx = logFixture(new MemoryStore());
    const state = new MemoryStore({ location: 'memory:state' });
    await writeLog(fx, 30, 10);
    await run(fx, state);
    await writeLog(fx, 30, 10, 30);
    // Segment 4 (the second new one) loses its last byte of body.
    const key = segmentKey('main', 4);
    const bytes = (await fx.store.get(key)) as Uint8Array;
    (fx.store as MemoryStore).tamperReplace(key, bytes.slice(0, -1));
    const reference = await full(fx);
    // Act
    const first = await run(fx, state);
    // Assess: the same findings as a full verification, the state advanced to segment 3 only.
    expect(first.found.length).toBeGreaterThan(0);
    expect(first.found).toEqual(reference.found);
    expect(first.logs[0]).toMatchObject({ from: { seq: 2 }, saved: 1 });
    expect((await peekVerifyState(state, 'main', 1, [fx.key.trusted]))?.position.seq).toBe(3);
    const second = await run(fx, state);
    expect(second.found).toEqual(reference.found);
    expect(second.logs[0]).toMatchObject({ from: { seq: 3 }, segmentsRead: 2, saved: undefined });
  });

  it('a record with a changed byte is VERIFY_STATE_INVALID; the log is verified in full and re-saved', async () => {
    const fx = logFixture(new MemoryStore());
    const state = new MemoryStore({ location: 'memory:state' });
    await writeLog(fx, 30, 10);
    await run(fx, state);
    // The recorded receive time no longer matches the archive's segment (only check 4 sees it).
    const key = verifyStateKey('main', 0);
    const r = JSON.parse(fromUtf8((await state.get(key)) as Uint8Array)) as Record<string, string>;
    r.lastReceivedAt = (r.lastReceivedAt as string).replace(
      /\.(\d)/u,
      (_, d) => `.${(Number(d) + 1) % 10}`,
    );
    state.tamperReplace(key, utf8(canonicalize(r)));
    // Act
    const result = await run(fx, state);
    // Assess
    expect(result.found.map((f) => [f.code, f.log, f.key])).toEqual([
      ['VERIFY_STATE_INVALID', 'main', key],
    ]);
    expect(result.logs[0]).toMatchObject({ from: undefined, segmentsRead: 3, saved: 1 });
    expect(result.ok).toBe(false);
    // The new record is the state from now on.
    const next = await run(fx, state);
    expect(next.found).toEqual([]);
    expect(next.logs[0]).toMatchObject({ from: { seq: 2 }, segmentsRead: 0 });
  });

  it("a state whose segment differs in the archive, or is gone: the record's checkpoint still counts", async () => {
    const fx = logFixture(new MemoryStore());
    const state = new MemoryStore({ location: 'memory:state' });
    await writeLog(fx, 30, 10);
    await run(fx, state);
    const loaded = await loadVerifyState(state, fx.store, 'main', [fx.key.trusted]);
    expect(loaded.kind).toBe('valid');
    // Rolled back: the newest segment removed.
    (fx.store as MemoryStore).tamperDelete(segmentKey('main', 2));
    const result = await run(fx, state);
    expect(result.found.map((f) => f.code)).toEqual(['VERIFY_STATE_INVALID', 'LOG_TRUNCATED']);
    // Segments 0 and 1 are fine, but saving there would forget the truncation: nothing saved,
    // and the next run reports it again.
    expect(result.logs[0]).toMatchObject({ from: undefined, segmentsRead: 2, saved: undefined });
    const next = await run(fx, state);
    expect(next.found.map((f) => f.code)).toEqual(['VERIFY_STATE_INVALID', 'LOG_TRUNCATED']);
    // Another segment 2 in its place (a fork): CHECKPOINT_MISMATCH against the record's checkpoint.
    await writeLog(fx, 10, 10, 500);
    const forked = await run(fx, state);
    expect(forked.found.map((f) => f.code)).toEqual([
      'VERIFY_STATE_INVALID',
      'CHECKPOINT_MISMATCH',
    ]);
    expect(forked.found[0]?.detail).toContain('segment 2 in the archive hashes to');
  });

  it('a forged record for a segment that does not exist, and a record under the wrong key', async () => {
    const fx = logFixture(new MemoryStore());
    const state = new MemoryStore({ location: 'memory:state' });
    await writeLog(fx, 20, 10);
    await run(fx, state);
    const good = (await state.get(verifyStateKey('main', 0))) as Uint8Array;
    // Record 0's bytes stored as record 1: its n is not the key's.
    await state.putIfAbsent(verifyStateKey('main', 1), good);
    const result = await run(fx, state);
    expect(result.found.map((f) => f.code)).toEqual(['VERIFY_STATE_INVALID']);
    expect(result.found[0]?.detail).toContain('says it is record 0');
    expect(result.logs[0]).toMatchObject({ from: undefined, segmentsRead: 2, saved: 2 });
  });
});

describe('concurrent runs and full runs', () => {
  it('two runs at once never fail; the state ends at the furthest position', async () => {
    const fx = logFixture(new MemoryStore());
    const state = new MemoryStore({ location: 'memory:state' });
    await writeLog(fx, 20, 10);
    await run(fx, state);
    await writeLog(fx, 20, 10, 20);
    // Two clocks, so that the two records differ (identical bytes would both count as saved).
    const [a, b] = await Promise.all([
      run(fx, state),
      run(fx, state, { clock: { now: () => clock.now() + 1 } }),
    ]);
    expect(a.found).toEqual([]);
    expect(b.found).toEqual([]);
    const saved = [a.logs[0]?.saved, b.logs[0]?.saved];
    // One wrote record 1; the other found it at the same position and wrote nothing.
    expect(saved.filter((s) => s !== undefined)).toEqual([1]);
    expect(await state.exists(verifyStateKey('main', 2))).toBe(false);
    expect((await peekVerifyState(state, 'main', 1, [fx.key.trusted]))?.position.seq).toBe(3);
  });

  it('losing the race to a record behind this run writes after it', async () => {
    const fx = logFixture(new MemoryStore());
    const state = new MemoryStore({ location: 'memory:state' });
    await writeLog(fx, 20, 10);
    await run(fx, state);
    const record0 = (await peekVerifyState(state, 'main', 0, [fx.key.trusted])) as NonNullable<
      Awaited<ReturnType<typeof peekVerifyState>>
    >;
    await writeLog(fx, 20, 10, 20);
    // Another run is slower: when this one saves, record 1 already holds an older position.
    const racing: ObjectStore = {
      location: state.location,
      get: (k, o) => state.get(k, o),
      exists: (k) => state.exists(k),
      list: (p, o) => state.list(p, o),
      putIfAbsent: async (k, b, o) => {
        if (k === verifyStateKey('main', 1))
          await state.putIfAbsent(k, encodeVerifyState({ ...record0, n: 1 }));
        return state.putIfAbsent(k, b, o);
      },
    };
    const behind = await run(fx, racing);
    expect(behind.logs[0]?.saved).toBe(2);
    expect((await peekVerifyState(state, 'main', 2, [fx.key.trusted]))?.position.seq).toBe(3);
  });

  it('full ignores the state, reads everything and does not re-save an equal position', async () => {
    const fx = logFixture(new MemoryStore());
    const state = new MemoryStore({ location: 'memory:state' });
    await writeLog(fx, 30, 10);
    await run(fx, state);
    const result = await run(fx, state, { full: true });
    expect(result.logs).toEqual([
      {
        log: 'main',
        from: undefined,
        to: { seq: 2, treeSize: 30 },
        segmentsRead: 3,
        saved: undefined,
      },
    ]);
    await writeLog(fx, 10, 10, 30);
    expect((await run(fx, state, { full: true })).logs[0]?.saved).toBe(1);
  });

  it('a state is not used below a trusted checkpoint, or with an origin it was not made for', async () => {
    const fx = logFixture(new MemoryStore());
    const state = new MemoryStore({ location: 'memory:state' });
    await writeLog(fx, 30, 10);
    const first = await run(fx, state);
    const reference = first.verify.logs[0];
    const cp = { origin: 'audit.example.com/test/main', treeSize: 10, root: new Uint8Array(32) };
    const below = await run(fx, state, { trustedCheckpoints: [cp] });
    expect(below.logs[0]).toMatchObject({ from: undefined, segmentsRead: 3 });
    expect(below.logs[0]?.fullBecause).toContain('tree size 10');
    expect(below.found.map((f) => f.code)).toEqual(['CHECKPOINT_MISMATCH']);
    const origin = await run(fx, state, { origin: 'audit.example.com/test/other' });
    expect(origin.logs[0]?.from).toBeUndefined();
    expect(origin.found.length).toBeGreaterThan(0);
    expect(reference?.treeSize).toBe(30);
  });

  it('refuses to keep the state in the archive', async () => {
    const fx = logFixture(new MemoryStore());
    await expect(run(fx, fx.store)).rejects.toMatchObject({ code: 'VERIFY_STATE_STORE_INVALID' });
  });
});

describe('property: chained incremental runs equal one full verification', () => {
  it('random segment sizes and appends; a tampered segment after the state is caught', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            count: fc.integer({ min: 1, max: 9 }),
            perSegment: fc.integer({ min: 1, max: 4 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.boolean(),
        async (appends, tamper) => {
          const fx = logFixture(new MemoryStore());
          const state = new MemoryStore({ location: 'memory:state' });
          let written = 0;
          let last: Run | undefined;
          let segmentsRead = 0;
          for (const a of appends) {
            await writeLog(fx, a.count, a.perSegment, written);
            written += a.count;
            last = await run(fx, state);
            segmentsRead += last.logs[0]?.segmentsRead ?? 0;
            expect(last.found).toEqual([]);
          }
          const reference = await full(fx);
          const end = reference.result.logs[0];
          const got = (last as Run).verify.logs[0];
          // Every segment was read exactly once over the chain.
          expect(segmentsRead).toBe(end?.segments);
          expect(got?.treeSize).toBe(end?.treeSize);
          expect(got?.root).toBe(end?.root);
          expect(got?.lastSeq).toBe(end?.lastSeq);
          expect(got?.lastSegmentHash).toBe(end?.lastSegmentHash);
          expect(got?.end?.frontier).toEqual(end?.end?.frontier);
          expect(got?.end?.lastReceivedAt).toBe(end?.end?.lastReceivedAt);
          expect(got?.latestCheckpoint).toBe(end?.latestCheckpoint);
          if (!tamper) return;
          // One more append, then one of its segments is changed by one byte.
          await writeLog(fx, 5, 2, written);
          const seq = (end?.lastSeq as number) + 2;
          const key = segmentKey('main', seq);
          const bytes = (await fx.store.get(key)) as Uint8Array;
          bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 1;
          (fx.store as MemoryStore).tamperReplace(key, bytes);
          const after = await run(fx, state);
          const tamperedFull = await full(fx);
          expect(after.found.length).toBeGreaterThan(0);
          expect(after.found).toEqual(tamperedFull.found);
          expect(after.found.every((f) => (f.seq ?? seq) >= seq)).toBe(true);
        },
      ),
      { numRuns: 15 },
    );
  }, 60_000);
});
