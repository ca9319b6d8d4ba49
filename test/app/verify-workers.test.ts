/**
 * verifyStore on worker threads (issue 14 item 2): on folder stores whose stored files were
 * tampered with, N workers report exactly what one thread does (codes, locations, details,
 * order) with the same summaries and segment records; answers that come back out of order are
 * taken in log order; a worker that throws, dies or exits fails the run instead of passing it;
 * from TypeScript sources the default worker module beside verify-workers.ts runs.
 */
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import {
  type VerifiedSegment,
  type VerifyStoreOptions,
  verifyStore,
} from '../../src/app/verify.js';
import { type CheckedSegment, serveChecks } from '../../src/app/verify-worker.js';
import {
  defaultWorkerUrl,
  OLD_GENERATION_MB,
  SegmentCheckPool,
  workerThreads,
} from '../../src/app/verify-workers.js';
import { WorkerPoolError, type WorkerPoolErrorCode } from '../../src/app/worker-pool.js';
import { decodeEntry } from '../../src/core/entry.js';
import { hasCode } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/findings.js';
import { segmentKey } from '../../src/core/layout.js';
import { parseSegment } from '../../src/core/segment.js';
import { checkSegment } from '../../src/core/segment-check.js';
import { editEntry, forge } from '../helpers/forge.js';
import { logFixture, type TestKey, writeLog } from '../helpers/log-fixture.js';
import { fixtureWorker, TS_EXEC_ARGV, TS_WORKERS } from '../helpers/verify-workers.js';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

let root: string;
let clean: string;
let key: TestKey;
/** Worker pools started once for the file (a thread that loads TypeScript takes seconds). */
let pool: SegmentCheckPool;
let slowPool: SegmentCheckPool;

/** Log `a`: 10 identity segments of 8 events; log `b`: 6 gzip segments of 8. */
const LOGS = { a: 10, b: 6 } as const;
const PER_SEGMENT = 8;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'auditlock-verify-workers-'));
  clean = join(root, 'clean');
  await mkdir(clean);
  const fx = logFixture(new FolderStore(clean));
  key = fx.key;
  await writeLog(fx, LOGS.a * PER_SEGMENT, PER_SEGMENT, 0, {
    log: 'a',
    origin: 'audit.example.com/test/a',
  });
  await writeLog(fx, LOGS.b * PER_SEGMENT, PER_SEGMENT, 0, {
    log: 'b',
    origin: 'audit.example.com/test/b',
    encoding: 'gzip',
  });
  pool = new SegmentCheckPool({ workers: 2, entry: TS_WORKERS });
  slowPool = new SegmentCheckPool({ workers: 2, entry: fixtureWorker('verify-worker-slow.ts') });
  // Ready before the tests: until a worker is, verifyStore checks segments on its own thread.
  await Promise.all([pool.warm(), slowPool.warm()]);
});

afterAll(async () => {
  await pool?.close();
  await slowPool?.close();
  await rm(root, { recursive: true, force: true });
});

async function verify(
  dir: string,
  opts: Partial<VerifyStoreOptions> = {},
): Promise<{ findings: Finding[]; segments: VerifiedSegment[]; result: unknown }> {
  const findings: Finding[] = [];
  const segments: VerifiedSegment[] = [];
  const result = await verifyStore(new FolderStore(dir), {
    trustedKeys: [key.trusted],
    ...opts,
    onFinding: (f) => findings.push(f),
    onSegment: (s) => segments.push(s),
  });
  return { findings, segments, result };
}

/** Whether `err` is the pool's own failure with `code` (not a job's error). */
function poolError(code: WorkerPoolErrorCode): (err: unknown) => boolean {
  return (err) => err instanceof WorkerPoolError && err.code === code;
}

let copies = 0;
async function copyOfStore(): Promise<string> {
  const dir = join(root, `copy-${copies++}`);
  await cp(clean, dir, { recursive: true });
  return dir;
}

function segmentFile(dir: string, log: string, seq: number): string {
  return join(dir, ...segmentKey(log, seq).split('/'));
}

/** Rewrites a stored (read-only) file, as anyone with write access to the folder can. */
async function rewrite(path: string, edit: (bytes: Uint8Array) => Uint8Array): Promise<void> {
  await chmod(path, 0o644);
  await writeFile(path, edit(await readFile(path)));
}

type Edit =
  | { kind: 'flip'; log: 'a' | 'b'; seq: number; at: number; mask: number }
  | { kind: 'cut'; log: 'a' | 'b'; seq: number; at: number }
  | { kind: 'delete'; log: 'a' | 'b'; seq: number }
  | { kind: 'copy'; log: 'a' | 'b'; seq: number; from: number }
  | { kind: 'stray'; log: 'a' | 'b' };

const place = fc
  .constantFrom('a' as const, 'b' as const)
  .chain((log) => fc.record({ log: fc.constant(log), seq: fc.nat({ max: LOGS[log] - 1 }) }));
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  place.chain((p) =>
    fc.record({
      kind: fc.constant('flip' as const),
      log: fc.constant(p.log),
      seq: fc.constant(p.seq),
      at: fc.nat(),
      mask: fc.integer({ min: 1, max: 255 }),
    }),
  ),
  place.chain((p) =>
    fc.record({
      kind: fc.constant('cut' as const),
      log: fc.constant(p.log),
      seq: fc.constant(p.seq),
      at: fc.nat(),
    }),
  ),
  place.map((p) => ({ kind: 'delete' as const, ...p })),
  place.chain((p) =>
    fc.record({
      kind: fc.constant('copy' as const),
      log: fc.constant(p.log),
      seq: fc.constant(p.seq),
      from: fc.nat({ max: LOGS[p.log] - 1 }),
    }),
  ),
  fc.record({
    kind: fc.constant('stray' as const),
    log: fc.constantFrom('a' as const, 'b' as const),
  }),
);

/** Applies `edit` to the stored files of the store in `dir`. */
async function apply(dir: string, edit: Edit): Promise<void> {
  if (edit.kind === 'stray') {
    await writeFile(join(dir, edit.log, 'seg', 'notes.txt'), 'not a segment');
    return;
  }
  const path = segmentFile(dir, edit.log, edit.seq);
  const present = (await readdir(join(dir, edit.log, 'seg'))).includes(
    segmentKey(edit.log, edit.seq).split('/').pop() as string,
  );
  if (!present) return;
  if (edit.kind === 'delete') await rm(path, { force: true });
  else if (edit.kind === 'copy') {
    const from = segmentFile(dir, edit.log, edit.from);
    const bytes = await readFile(from).catch(() => undefined);
    if (bytes) await rewrite(path, () => bytes);
  } else if (edit.kind === 'flip')
    await rewrite(path, (b) => {
      const at = edit.at % b.length;
      b[at] = (b[at] as number) ^ edit.mask;
      return b;
    });
  else await rewrite(path, (b) => b.subarray(0, edit.at % (b.length + 1)));
}

describe('verifyStore with worker threads', () => {
  it('reports what one thread reports, in the same order, on tampered folder stores', async () => {
    let withFindings = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(editArb, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (edits, concurrency, strictEntries) => {
          // Prepare: real stored bytes changed in a copy of the clean store.
          const dir = await copyOfStore();
          for (const e of edits) await apply(dir, e);
          // Act
          const one = await verify(dir, { concurrency, strictEntries });
          const many = await verify(dir, { concurrency, strictEntries, workers: pool });
          // Assess (deleting a log's last segment is a truncation only a trusted size shows)
          if (one.findings.length > 0) withFindings++;
          expect(many).toEqual(one);
          await rm(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 30 },
    );
    // Not a vacuous comparison: most tampered stores have findings to compare.
    expect(withFindings).toBeGreaterThan(20);
  });

  it('takes answers that come back out of order in log order', async () => {
    const one = await verify(clean, { concurrency: 8 });
    const many = await verify(clean, { concurrency: 8, workers: slowPool });
    expect(many).toEqual(one);
    expect(many.findings).toEqual([]);
    expect(many.segments.map((s) => s.key)).toEqual([
      ...Array.from({ length: LOGS.a }, (_, i) => segmentKey('a', i)),
      ...Array.from({ length: LOGS.b }, (_, i) => segmentKey('b', i)),
    ]);
  });

  it('fails the run when a worker throws, dies or exits, and passes nothing', async () => {
    for (const name of ['verify-worker-crash.ts', 'verify-worker-exit.ts']) {
      const broken = new SegmentCheckPool({ workers: 1, entry: fixtureWorker(name) });
      try {
        await broken.warm();
        const findings: Finding[] = [];
        await expect(
          verifyStore(new FolderStore(clean), {
            trustedKeys: [key.trusted],
            workers: broken,
            onFinding: (f) => findings.push(f),
          }),
        ).rejects.toSatisfy(poolError('WORKER_FAILED'));
        expect(findings).toEqual([]);
        // The pool stays failed: a later job is refused with the same failure, not run.
        expect(broken.failure).toBeDefined();
        await expect(broken.check(new Uint8Array(1), { trustedKeys: [] })).rejects.toBe(
          broken.failure,
        );
      } finally {
        await broken.close();
      }
    }
  });

  it("rethrows a worker's programming error as it is", async () => {
    const buggy = new SegmentCheckPool({
      workers: 1,
      entry: fixtureWorker('verify-worker-bug.ts'),
    });
    try {
      await buggy.warm();
      const run = verifyStore(new FolderStore(clean), {
        trustedKeys: [key.trusted],
        workers: buggy,
      });
      await expect(run).rejects.toThrow(TypeError);
      await expect(run).rejects.toThrow('a bug in the check');
    } finally {
      await buggy.close();
    }
  });

  it('starts and stops its own threads for workers: N, from TypeScript sources', async () => {
    // The default worker module is the .ts beside verify-workers.ts; a child process started
    // with the TS hooks passes them to its threads.
    expect(defaultWorkerUrl().pathname).toMatch(/\/src\/app\/verify-worker\.ts$/);
    const dir = await copyOfStore();
    await apply(dir, { kind: 'flip', log: 'a', seq: 4, at: 900, mask: 0x20 });
    await apply(dir, { kind: 'delete', log: 'b', seq: 2 });
    const spki = Buffer.from(key.trusted.spki).toString('base64');
    const { stdout } = await run(
      process.execPath,
      [...TS_EXEC_ARGV, join(FIXTURES, 'verify-workers-default.ts'), dir, spki, '2'],
      { timeout: 60_000 },
    );
    const child = JSON.parse(stdout) as { findings: Finding[]; logs: string[] };
    const one = await verify(dir);
    expect(child.findings.length).toBeGreaterThan(0);
    expect(child).toEqual({ findings: one.findings, logs: ['a', 'b'] });
  });

  it('checks on its own thread until a worker is ready, and fails when none can start', async () => {
    // A pool not started yet: the run does not wait for it, and starts it.
    const cold = new SegmentCheckPool({ workers: 2, entry: TS_WORKERS });
    try {
      expect(cold.ready).toBe(false);
      expect(await verify(clean, { workers: cold })).toEqual(await verify(clean));
      await cold.warm();
      expect(cold.ready).toBe(true);
    } finally {
      await cold.close();
    }
    // A worker module that cannot be loaded fails the pool, and every run on it.
    const missing = new SegmentCheckPool({ workers: 1, entry: fixtureWorker('no-such-worker.ts') });
    try {
      await expect(missing.warm()).rejects.toSatisfy(poolError('WORKER_FAILED'));
      await expect(verify(clean, { workers: missing })).rejects.toSatisfy(
        poolError('WORKER_FAILED'),
      );
    } finally {
      await missing.close();
    }
  });

  it('starts no more threads than cores, and none for one', () => {
    expect(workerThreads(8, 2)).toBe(2);
    expect(workerThreads(2, 8)).toBe(2);
    expect(workerThreads(4, 1)).toBe(1);
    expect(workerThreads(1, 8)).toBe(1);
    expect(workerThreads(3)).toBeLessThanOrEqual(3);
  });

  it('refuses a number of workers that is not a positive integer', async () => {
    for (const workers of [0, -1, 1.5])
      await expect(
        verifyStore(new FolderStore(clean), { trustedKeys: [], workers }),
      ).rejects.toSatisfy((err) => hasCode(err, 'WORKERS_INVALID'));
    expect(() => new SegmentCheckPool({ workers: 0 })).toThrow(RangeError);
  });
});

describe('SegmentCheckPool', () => {
  it('rejects the jobs still queued when it is closed, and later ones', async () => {
    const p = new SegmentCheckPool({ workers: 1, entry: fixtureWorker('verify-worker-slow.ts') });
    const bytes = await readFile(segmentFile(clean, 'a', 0));
    const jobs = [1, 2, 3].map(() =>
      p.check(new Uint8Array(bytes), { trustedKeys: [key.trusted] }),
    );
    for (const j of jobs) j.catch(() => {});
    await p.close();
    for (const j of jobs) await expect(j).rejects.toSatisfy(poolError('POOL_CLOSED'));
    await expect(p.check(bytes, { trustedKeys: [] })).rejects.toSatisfy(poolError('POOL_CLOSED'));
  });

  it('starts its threads with the heap limits of a segment check', async () => {
    const p = new SegmentCheckPool({ workers: 1, entry: fixtureWorker('worker-limits.ts') });
    try {
      // The fixture answers a job with its thread's resourceLimits instead of a check.
      const limits = (await p.check(new Uint8Array(1), { trustedKeys: [] })) as unknown;
      expect(limits).toMatchObject({
        maxYoungGenerationSizeMb: 4,
        maxOldGenerationSizeMb: OLD_GENERATION_MB,
      });
    } finally {
      await p.close();
    }
  });

  it('moves bytes whose buffer is theirs, copies views into a larger one', async () => {
    const bytes = new Uint8Array(await readFile(segmentFile(clean, 'a', 1)));
    const opts = { trustedKeys: [key.trusted] };
    const expected = checkSegment(bytes.slice(), opts);
    // A view into a larger buffer is copied: the larger buffer stays usable.
    const larger = new Uint8Array(bytes.length + 10);
    larger.set(bytes, 5);
    const view = larger.subarray(5, 5 + bytes.length);
    const fromView = await pool.check(view, opts);
    expect(larger.length).toBe(bytes.length + 10);
    expect(fromView.check).toEqual(expected);
    // A store's buffer a byte larger than the object (a folder store's) is moved too.
    const store = new Uint8Array(70_001);
    const object = store.subarray(0, 70_000);
    const sent = await pool.check(object, opts);
    expect(store.length).toBe(0);
    expect([sent.bytes.length, sent.check]).toEqual([70_000, undefined]);
    // A whole buffer is moved there and back.
    const moved = await pool.check(bytes, opts);
    expect(bytes.length).toBe(0);
    expect(moved.check).toEqual(expected);
    expect(parseSegment(moved.bytes).hash).toEqual(expected?.hash);
  });
});

describe('serveChecks (the worker side)', () => {
  it('says it is ready, answers a job with its check and the bytes, a throwing check with its error', async () => {
    const { port1, port2 } = new MessageChannel();
    const next = () => new Promise<unknown>((resolve) => port2.once('message', resolve));
    serveChecks(port1);
    const bytes = new Uint8Array(await readFile(segmentFile(clean, 'b', 0)));
    const opts = { trustedKeys: [key.trusted] };
    const answer = (req: unknown) => {
      const reply = next();
      port2.postMessage(req);
      return reply;
    };
    try {
      expect(await next()).toEqual({ ready: true });
      const ok = await answer({ id: 1, req: { bytes: bytes.slice(), opts } });
      expect(ok).toEqual({ id: 1, res: { bytes, check: checkSegment(bytes, opts) } });
      const bug = (await answer({
        id: 2,
        req: { bytes: bytes.slice(), opts: { trustedKeys: null } },
      })) as { id: number; error: unknown };
      expect(bug.id).toBe(2);
      expect(bug.error).toBeInstanceOf(TypeError);
    } finally {
      port1.close();
      port2.close();
    }
  });

  it('checks a strict job with the full schema, loaded when it comes', async () => {
    // Prepare: a segment whose first entry passes the structural check but not the schema.
    const { port1, port2 } = new MessageChannel();
    const next = () => new Promise<unknown>((resolve) => port2.once('message', resolve));
    serveChecks(port1);
    const bytes = await schemaInvalidSegment(segmentFile(clean, 'a', 0));
    const trustedKeys = [key.trusted];
    const answer = async (id: number, strictEntries: boolean) => {
      const reply = next();
      port2.postMessage({
        id,
        req: { bytes: bytes.slice(), opts: { trustedKeys, strictEntries } },
      });
      return ((await reply) as { res: CheckedSegment }).res.check;
    };
    try {
      expect(await next()).toEqual({ ready: true });
      // Act
      const loose = await answer(1, false);
      const strict = await answer(2, true);
      const again = await answer(3, true);
      // Assess: this thread's checks with and without decodeEntry, which differ.
      const strictHere = checkSegment(bytes, { trustedKeys, strictEntries: decodeEntry });
      expect(strictHere?.entries).toBeUndefined();
      expect(strict).toEqual(strictHere);
      expect(again).toEqual(strictHere);
      expect(loose?.entries).toBeDefined();
      expect(loose).toEqual(checkSegment(bytes, { trustedKeys }));
      // A strict job that throws (a bug) answers with its error, as a structural one does.
      const reply = next();
      port2.postMessage({
        id: 4,
        req: { bytes, opts: { trustedKeys: null, strictEntries: true } },
      });
      const bug = (await reply) as { id: number; error: unknown };
      expect(bug.id).toBe(4);
      expect(bug.error).toBeInstanceOf(TypeError);
    } finally {
      port1.close();
      port2.close();
    }
  });
});

describe('strict checks on worker threads', () => {
  it('report what one thread reports, where the schema refuses an entry the structure allows', async () => {
    // Prepare
    const dir = await copyOfStore();
    const path = segmentFile(dir, 'a', LOGS.a - 1); // the last: no segment after it to disagree
    const forged = await schemaInvalidSegment(path);
    await rewrite(path, () => forged);
    // Act
    const one = await verify(dir, { strictEntries: true });
    const many = await verify(dir, { strictEntries: true, workers: pool });
    const loose = await verify(dir, { workers: pool });
    // Assess
    expect(many).toEqual(one);
    expect(one.findings.map((f) => [f.code, f.log, f.seq, f.index])).toEqual([
      ['ENTRY_INVALID', 'a', LOGS.a - 1, (LOGS.a - 1) * PER_SEGMENT],
      // The header's first receive time is that of an entry the verifier could not read.
      ['RECEIVE_TIME_MISMATCH', 'a', LOGS.a - 1, undefined],
    ]);
    expect(loose.findings).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});

/**
 * The segment stored at `path`, re-signed with its first entry given an unknown member: still a
 * JSON object of a known kind with a valid `receivedAt` (structurally valid), but no valid entry.
 */
async function schemaInvalidSegment(path: string): Promise<Uint8Array> {
  return forge(new Uint8Array(await readFile(path)), {
    signers: [key.signer],
    entries: (es) => es.map((e, i) => (i === 0 ? editEntry(e, (v) => ({ ...v, extra: 1 })) : e)),
  });
}
