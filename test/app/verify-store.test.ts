/**
 * Store-level verification under hostile storage (issue 7 defects 3, 6, 7, 8, 9): trusted
 * checkpoints applied per origin, ranges a checkpoint cannot be checked against, bundles only when
 * asked, empty stores, oversized and unreadable objects, missing version metadata, programming
 * errors kept apart from tampering, and retention compared at whole-second precision.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { type VerifyStoreOptions, verifyStore } from '../../src/app/verify.js';
import { toBase64, utf8 } from '../../src/core/encoding.js';
import { StorageError } from '../../src/core/errors.js';
import type { Finding, FindingCode } from '../../src/core/findings.js';
import { sha256 } from '../../src/core/hash.js';
import { BUNDLE_MANIFEST_KEY, segmentKey } from '../../src/core/layout.js';
import { LogVerifier } from '../../src/core/log-verifier.js';
import type {
  ObjectInfo,
  ObjectStore,
  ObjectVersion,
  ReadOptions,
  VersionedObjectStore,
  VersionMetadata,
} from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import { logFixture, makeKey, type TestKey, writeLog } from '../helpers/log-fixture.js';

type Opts = Partial<VerifyStoreOptions> & { trustedKeys: VerifyStoreOptions['trustedKeys'] };

async function run(store: ObjectStore, opts: Opts) {
  const findings: Finding[] = [];
  const result = await verifyStore(store, { ...opts, onFinding: (f) => findings.push(f) });
  return {
    findings,
    result,
    codes: [...new Set(findings.map((f) => f.code))].sort() as FindingCode[],
  };
}

/** A store with two logs, `a` and `b`, of 30 entries in 3 segments each, one key. */
async function twoLogs(): Promise<{ store: MemoryStore; key: TestKey }> {
  const store = new MemoryStore();
  const key = makeKey();
  const fx = logFixture(store, key);
  await writeLog(fx, 30, 10, 0, { log: 'a', origin: 'audit.example.com/test/a' });
  await writeLog(fx, 30, 10, 0, { log: 'b', origin: 'audit.example.com/test/b' });
  return { store, key };
}

/** The checkpoint of segment `seq` of `log`, as the verifier takes it. */
async function checkpointOf(store: ObjectStore, log: string, seq: number) {
  return parseSegment((await store.get(segmentKey(log, seq))) as Uint8Array).checkpoint;
}

/** Wraps a memory store; `override` may replace `list` sizes or `get` per key. */
function wrap(
  inner: MemoryStore,
  override: {
    size?: (key: string, size: number) => number;
    get?: (key: string) => Promise<Uint8Array | undefined> | undefined;
  },
): ObjectStore & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    location: inner.location,
    putIfAbsent: (k, b) => inner.putIfAbsent(k, b),
    exists: (k) => inner.exists(k),
    async *list(prefix, options): AsyncIterable<ObjectInfo> {
      for await (const o of inner.list(prefix, options))
        yield { key: o.key, size: override.size ? override.size(o.key, o.size) : o.size };
    },
    get: async (k: string, _options?: ReadOptions) => {
      reads.push(k);
      return (await override.get?.(k)) ?? inner.get(k);
    },
  };
}

/** A versioned view of a memory store: one version per key, metadata from `meta`. */
function versioned(
  inner: MemoryStore,
  meta: (key: string, bytes: Uint8Array) => VersionMetadata | undefined,
): VersionedObjectStore {
  return {
    location: inner.location,
    putIfAbsent: (k, b) => inner.putIfAbsent(k, b),
    exists: (k) => inner.exists(k),
    list: (p, o) => inner.list(p, o),
    get: (k) => inner.get(k),
    async *listVersions(prefix): AsyncIterable<ObjectVersion> {
      for await (const o of inner.list(prefix))
        yield {
          key: o.key,
          versionId: `v-${o.key}`,
          isLatest: true,
          isDeleteMarker: false,
          size: o.size,
          lastModified: new Date(0),
        };
    },
    getVersion: (k) => inner.get(k),
    describeVersion: async (k) => meta(k, (await inner.get(k)) as Uint8Array),
  };
}

describe('trusted checkpoints apply to the log with their origin', () => {
  it('a checkpoint of log a is checked on a, and gives no fork finding on log b', async () => {
    const { store, key } = await twoLogs();
    const cp = await checkpointOf(store, 'a', 1);
    const { findings } = await run(store, { trustedKeys: [key.trusted], trustedCheckpoints: [cp] });
    expect(findings).toEqual([]);
    // The same checkpoint with another root is a fork of log a only.
    const forked = { ...cp, root: new Uint8Array(32).fill(3) };
    const fork = await run(store, { trustedKeys: [key.trusted], trustedCheckpoints: [forked] });
    expect(fork.findings.map((f) => [f.code, f.log])).toEqual([['CHECKPOINT_MISMATCH', 'a']]);
  });

  it('a checkpoint whose origin is no verified log is reported (CHECKPOINT_UNMATCHED)', async () => {
    const { store, key } = await twoLogs();
    const cp = { ...(await checkpointOf(store, 'a', 1)), origin: 'audit.example.com/test/zzz' };
    const { findings } = await run(store, { trustedKeys: [key.trusted], trustedCheckpoints: [cp] });
    expect(findings.map((f) => f.code)).toEqual(['CHECKPOINT_UNMATCHED']);
  });

  it('a checkpoint below the first stored segment of a bundle is reported, not dropped', async () => {
    // Prepare: the attack of issue 7 on a memory store: segments 0..1 deleted, a manifest that
    // says the range starts at 2, and a trusted checkpoint from segment 0.
    const { store, key } = await twoLogs();
    const cp = await checkpointOf(store, 'a', 0);
    store.tamperDelete(segmentKey('a', 0));
    store.tamperDelete(segmentKey('a', 1));
    const manifest = {
      createdAt: '2026-11-26T08:00:00.000Z',
      format: 'auditlock-bundle/1',
      logs: {
        a: { firstSeq: 2, lastSeq: 2, origin: 'audit.example.com/test/a' },
        b: { firstSeq: 0, lastSeq: 2, origin: 'audit.example.com/test/b' },
      },
      source: 'memory:',
    };
    await store.putIfAbsent(BUNDLE_MANIFEST_KEY, utf8(JSON.stringify(manifest)));
    // Act
    const asBundle = await run(store, {
      trustedKeys: [key.trusted],
      trustedCheckpoints: [cp],
      bundle: true,
    });
    const asStore = await run(store, { trustedKeys: [key.trusted], trustedCheckpoints: [cp] });
    // Assess
    expect(asBundle.findings.map((f) => [f.code, f.log])).toEqual([
      ['CHECKPOINT_NOT_COVERED', 'a'],
    ]);
    const a = asBundle.result.logs.find((l) => l.log === 'a');
    expect(a).toMatchObject({ firstSeq: 2, lastSeq: 2, startTreeSize: 20, treeSize: 30 });
    // Without `bundle`, bundle.json is an unexpected object and the missing segments are a gap.
    expect(asStore.codes).toEqual(['CHECKPOINT_NOT_COVERED', 'SEQUENCE_GAP', 'UNEXPECTED_OBJECT']);
  });
});

describe('empty stores and logs', () => {
  it('an empty store is LOG_EMPTY unless allowEmpty', async () => {
    const store = new MemoryStore();
    const key = makeKey();
    expect((await run(store, { trustedKeys: [key.trusted] })).codes).toEqual(['LOG_EMPTY']);
    expect((await run(store, { trustedKeys: [key.trusted], allowEmpty: true })).codes).toEqual([]);
  });

  it('a store holding only stray objects is LOG_EMPTY too', async () => {
    const store = new MemoryStore();
    await store.putIfAbsent('typo/readme.txt', utf8('hello'));
    const { codes, result } = await run(store, { trustedKeys: [makeKey().trusted] });
    expect(codes).toEqual(['LOG_EMPTY', 'UNEXPECTED_OBJECT']);
    expect(result.ok).toBe(false);
  });
});

describe('what the listing and the reads say about an object', () => {
  it('a listed segment larger than the format allows is a finding and is never downloaded', async () => {
    const { store, key } = await twoLogs();
    const big = segmentKey('a', 1);
    const store2 = wrap(store, { size: (k, s) => (k === big ? 3 * 1024 ** 3 : s) });
    const { findings } = await run(store2, { trustedKeys: [key.trusted] });
    // Segment 2's link cannot be checked (its predecessor was not read): no finding there.
    expect(findings.map((f) => [f.code, f.log, f.seq])).toEqual([['OBJECT_TOO_LARGE', 'a', 1]]);
    expect(store2.reads).not.toContain(big);
  });

  it("a read that fails is OBJECT_UNREADABLE (or the store's OBJECT_TOO_LARGE) and the run goes on", async () => {
    const { store, key } = await twoLogs();
    const failing = wrap(store, {
      get: (k) => {
        if (k === segmentKey('a', 0))
          throw new StorageError('STORE_IO', 'read failed: EIO', { retryable: false });
        if (k === segmentKey('b', 2))
          throw new StorageError('OBJECT_TOO_LARGE', 'grew after listing', { retryable: false });
        return undefined;
      },
    });
    const { findings, result } = await run(failing, { trustedKeys: [key.trusted] });
    expect(findings.map((f) => [f.code, f.log, f.seq])).toEqual([
      ['OBJECT_UNREADABLE', 'a', 0],
      ['OBJECT_TOO_LARGE', 'b', 2],
    ]);
    expect(result.logs.map((l) => [l.log, l.segments])).toEqual([
      ['a', 3],
      ['b', 3],
    ]);
  });

  it('a gap before an unreadable segment is still a gap', async () => {
    const { store, key } = await twoLogs();
    store.tamperDelete(segmentKey('a', 0));
    const failing = wrap(store, {
      get: (k) => {
        if (k === segmentKey('a', 1))
          throw new StorageError('STORE_IO', 'read failed: EIO', { retryable: false });
        return undefined;
      },
    });
    const { findings } = await run(failing, { trustedKeys: [key.trusted] });
    expect(findings.map((f) => [f.code, f.seq])).toEqual([
      ['SEQUENCE_GAP', 1],
      ['OBJECT_UNREADABLE', 1],
    ]);
  });

  it('a programming error in a store adapter propagates and is not reported as tampering', async () => {
    const { store, key } = await twoLogs();
    const buggy = wrap(store, {
      get: (k) => {
        if (k === segmentKey('a', 1)) throw new TypeError('adapter bug');
        return undefined;
      },
    });
    await expect(verifyStore(buggy, { trustedKeys: [key.trusted] })).rejects.toThrow(TypeError);
  });

  it('a programming error while parsing a segment propagates (codeOf keeps bugs apart)', async () => {
    const { store, key } = await twoLogs();
    /** Bytes whose `indexOf` is broken (views of them too): what a buggy adapter could hand over. */
    class Broken extends Uint8Array {
      override indexOf(): number {
        throw new TypeError('broken view');
      }
    }
    const buggy = wrap(store, {
      get: async (k) =>
        k === segmentKey('a', 1) ? new Broken((await store.get(k)) as Uint8Array) : undefined,
    });
    await expect(verifyStore(buggy, { trustedKeys: [key.trusted] })).rejects.toThrow(TypeError);
  });
});

describe('versioned stores', () => {
  const compliance = (bytes: Uint8Array): VersionMetadata => {
    const sealed = parseTimestamp(parseSegment(bytes).checkpoint.sealedAt);
    return {
      lockMode: 'COMPLIANCE',
      retainUntil: new Date(sealed + 86_400_000),
      legalHold: false,
      checksumSha256: toBase64(sha256(bytes)),
      replicationStatus: undefined,
    };
  };

  it('a segment version without metadata is reported (VERSION_METADATA_MISSING), not skipped', async () => {
    const { store, key } = await twoLogs();
    const bare = segmentKey('b', 1);
    const vs = versioned(store, (k, bytes) => (k === bare ? undefined : compliance(bytes)));
    const { findings } = await run(vs, { trustedKeys: [key.trusted] });
    expect(findings.map((f) => [f.code, f.log, f.seq])).toEqual([
      ['VERSION_METADATA_MISSING', 'b', 1],
    ]);
  });

  it('retain-until is compared at whole-second precision (S3 and LocalStack keep whole seconds)', async () => {
    // Prepare: a segment sealed at a time with milliseconds, retained until that second + 1 day.
    const s = new MemoryStore();
    const fx = logFixture(s);
    await writeLog(fx, 10, 10);
    const k = segmentKey('main', 0);
    const bytes = (await s.get(k)) as Uint8Array;
    const sealed = parseTimestamp(parseSegment(bytes).checkpoint.sealedAt);
    expect(sealed % 1000).not.toBe(0); // the premise: the seal time has milliseconds
    const floorSecond = Math.floor(sealed / 1000) * 1000;
    const findings: Finding[] = [];
    // Act
    for (const until of [floorSecond + 86_400_000, floorSecond + 86_400_000 - 1]) {
      const v = new LogVerifier(
        'main',
        { trustedKeys: [fx.key.trusted], minRetentionDays: 1 },
        (f) => findings.push(f),
      );
      v.addSegment(k, 0, bytes, { ...compliance(bytes), retainUntil: new Date(until) });
    }
    // Assess: the whole second is enough; a millisecond less is not.
    expect(findings.map((f) => f.code)).toEqual(['RETENTION_TOO_SHORT']);
  });
});

describe('the summary says which range was verified', () => {
  it('first and last sequence numbers, tree sizes and the last segment hash', async () => {
    const { store, key } = await twoLogs();
    const { result } = await run(store, { trustedKeys: [key.trusted] });
    const last = (await store.get(segmentKey('b', 2))) as Uint8Array;
    expect(result.logs[1]).toMatchObject({
      log: 'b',
      firstSeq: 0,
      lastSeq: 2,
      startTreeSize: 0,
      treeSize: 30,
      lastSegmentHash: toBase64(sha256(last)),
    });
  });

  it('witness objects are reserved: counted, never downloaded, not reported', async () => {
    const { store, key } = await twoLogs();
    await store.putIfAbsent('a/witness/00000000000000000030/w1', utf8('cosigned'));
    const spy = wrap(store, {});
    const { findings, result } = await run(spy, { trustedKeys: [key.trusted] });
    expect(findings).toEqual([]);
    expect(result.witnessObjects).toBe(1);
    expect(spy.reads.filter((k) => k.includes('/witness/'))).toEqual([]);
  });

  it('two logs with one origin are reported (ORIGIN_DUPLICATE)', async () => {
    const store = new MemoryStore();
    const key = makeKey();
    const fx = logFixture(store, key);
    await writeLog(fx, 10, 10, 0, { log: 'a', origin: 'audit.example.com/test/same' });
    await writeLog(fx, 10, 10, 0, { log: 'b', origin: 'audit.example.com/test/same' });
    const { findings } = await run(store, { trustedKeys: [key.trusted] });
    expect(findings.map((f) => [f.code, f.log])).toEqual([['ORIGIN_DUPLICATE', 'b']]);
  });
});
