/**
 * pullBundle (src/app/pull.ts) from a folder store: sequence and time ranges (boundaries, a gap
 * in time, empty, beyond the head), the bundle verifying as a format-2 bundle, an aborted pull
 * resumed without downloading what it had, and a bundle tampered after the pull caught.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { BUNDLE_FORMAT_V2, type BundleManifestV2 } from '../../src/app/bundle-manifest.js';
import { pullBundle } from '../../src/app/pull.js';
import { verifyStore } from '../../src/app/verify.js';
import type { Finding } from '../../src/core/findings.js';
import { segmentKey } from '../../src/core/layout.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { logFixture, sampleEvent, type TestKey } from '../helpers/log-fixture.js';

const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(name: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `al-pull-${name}-`));
  dirs.push(d);
  return d;
}

/** A folder store whose log `main` has segment i (3 entries) received from `starts[i]`. */
async function sourceLog(starts: readonly number[]) {
  const root = await tempDir('src');
  const fx = logFixture(new FolderStore(root));
  const archiver = await fx.open({ maxEvents: 3 });
  let n = 0;
  for (const start of starts) {
    fx.clock.set(start);
    const stored: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) stored.push((await archiver.submit(sampleEvent(n++))).stored);
    await Promise.all(stored);
  }
  await archiver.close();
  return { root, store: fx.store, key: fx.key };
}

/** Counts downloads (get) per key. */
function counting(store: ObjectStore) {
  const gets: string[] = [];
  const wrapped: ObjectStore = {
    location: store.location,
    putIfAbsent: (k, b, o) => store.putIfAbsent(k, b, o),
    get: (k, o) => {
      gets.push(k);
      return store.get(k, o);
    },
    exists: (k) => store.exists(k),
    list: (p, o) => store.list(p, o),
  };
  return { store: wrapped, gets };
}

async function verifyBundle(out: string, key: TestKey) {
  const findings: Finding[] = [];
  const result = await verifyStore(new FolderStore(out), {
    trustedKeys: [key.trusted],
    bundle: true,
    onFinding: (f) => findings.push(f),
  });
  return { result, findings };
}

const manifestOf = async (out: string) =>
  JSON.parse(await readFile(join(out, 'bundle.json'), 'utf8')) as BundleManifestV2;

// Ten segments 10 s apart, then a gap of 100 s before the last two.
const STARTS = [
  ...Array.from({ length: 10 }, (_, i) => T0 + i * 10_000),
  T0 + 200_000,
  T0 + 210_000,
];

describe('pullBundle', () => {
  it('pulls a sequence range byte for byte, with a format-2 manifest, and it verifies', async () => {
    // Prepare
    const src = await sourceLog(STARTS);
    const out = await tempDir('out');

    // Act
    const r = await pullBundle({
      source: src.store,
      out,
      trustedKeys: [src.key.trusted],
      selection: { by: 'seq', fromSeq: 3, toSeq: 6 },
    });

    // Assess
    expect(r.logs).toMatchObject([{ log: 'main', firstSeq: 3, lastSeq: 6, downloaded: 4 }]);
    for (let seq = 3; seq <= 6; seq++)
      expect(await readFile(join(out, segmentKey('main', seq)))).toEqual(
        await readFile(join(src.root, segmentKey('main', seq))),
      );
    const m = await manifestOf(out);
    expect(m.format).toBe(BUNDLE_FORMAT_V2);
    expect(m.logs.main?.segments.map((s) => s.seq)).toEqual([3, 4, 5, 6]);
    expect(m.keys).toHaveLength(1);
    const v = await verifyBundle(out, src.key);
    expect(v.findings).toEqual([]);
    expect(v.result.logs[0]).toMatchObject({ firstSeq: 3, lastSeq: 6 });
  });

  it('clips a sequence range beyond the head, and says when nothing is selected', async () => {
    // Prepare
    const src = await sourceLog(STARTS.slice(0, 4));
    const opts = { source: src.store, trustedKeys: [src.key.trusted] };

    // Act
    const beyond = await pullBundle({
      ...opts,
      out: await tempDir('out'),
      selection: { by: 'seq', fromSeq: 2, toSeq: 99 },
    });
    const emptyOut = await tempDir('out');
    const none = await pullBundle({
      ...opts,
      out: emptyOut,
      selection: { by: 'seq', fromSeq: 10 },
    });

    // Assess
    expect(beyond.logs[0]).toMatchObject({ firstSeq: 2, lastSeq: 3, downloaded: 2 });
    expect(none.pulled).toBe(0);
    expect(none.manifest).toBeUndefined();
    expect(none.logs[0]).toMatchObject({ stored: { firstSeq: 0, headSeq: 3 } });
    await expect(readFile(join(emptyOut, 'bundle.json'))).rejects.toThrow();
  });

  it('pulls a time range [from, to) across a gap in time, and an empty one', async () => {
    // Prepare
    const src = await sourceLog(STARTS);
    const opts = { source: src.store, trustedKeys: [src.key.trusted] };
    const pullTime = async (fromMs?: number, toMs?: number) =>
      pullBundle({ ...opts, out: await tempDir('out'), selection: { by: 'time', fromMs, toMs } });

    // Act
    const exact = await pullTime(T0 + 20_000, T0 + 40_000);
    const acrossGap = await pullTime(T0 + 95_000, T0 + 205_000);
    const inGap = await pullTime(T0 + 100_000, T0 + 200_000);
    const afterHead = await pullTime(T0 + 300_000);

    // Assess: the end is exclusive (segment 4 starts at +40 s exactly)
    expect(exact.logs[0]).toMatchObject({ firstSeq: 2, lastSeq: 3 });
    expect(exact.logs[0]?.lookupReads).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(13)));
    expect(acrossGap.logs[0]).toMatchObject({ firstSeq: 10, lastSeq: 10 });
    expect(inGap.pulled).toBe(0);
    expect(afterHead.pulled).toBe(0);
  });

  it('resumes an aborted pull without downloading the segments it had, and the result verifies', async () => {
    // Prepare
    const src = await sourceLog(STARTS);
    const out = await tempDir('out');
    const controller = new AbortController();
    const first = counting(src.store);

    // Act: abort after 5 segments, one at a time
    const aborted = pullBundle({
      source: first.store,
      out,
      trustedKeys: [src.key.trusted],
      selection: { by: 'seq' },
      concurrency: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done === 5) controller.abort(new Error('interrupted'));
      },
    });
    await expect(aborted).rejects.toThrow('interrupted');
    await expect(readFile(join(out, 'bundle.json'))).rejects.toThrow();
    const had = first.gets.filter((k) => k.includes('/seg/'));
    const second = counting(src.store);
    const r = await pullBundle({
      source: second.store,
      out,
      trustedKeys: [src.key.trusted],
      selection: { by: 'seq' },
    });

    // Assess
    expect(had.length).toBeGreaterThanOrEqual(5);
    expect(had.length).toBeLessThan(12);
    for (const k of had) expect(second.gets).not.toContain(k);
    expect(r.logs[0]).toMatchObject({ firstSeq: 0, lastSeq: 11, skipped: had.length });
    expect(r.logs[0]?.downloaded).toBe(12 - had.length);
    expect((await verifyBundle(out, src.key)).findings).toEqual([]);
  });

  it('catches a bundle changed after the pull', async () => {
    // Prepare
    const src = await sourceLog(STARTS.slice(0, 5));
    const out = await tempDir('out');
    await pullBundle({
      source: src.store,
      out,
      trustedKeys: [src.key.trusted],
      selection: { by: 'seq' },
    });
    const file = join(out, segmentKey('main', 2));
    const bytes = await readFile(file);
    bytes.writeUInt8((bytes.at(-3) ?? 0) ^ 0x01, bytes.length - 3); // a byte of the body

    // Act
    await writeFile(file, bytes);
    const { findings } = await verifyBundle(out, src.key);

    // Assess
    const codes = findings.map((f) => f.code);
    expect(codes).toContain('BUNDLE_MANIFEST_INVALID');
    expect(codes).toContain('PAYLOAD_HASH_MISMATCH');
    expect(findings.find((f) => f.code === 'BUNDLE_MANIFEST_INVALID')?.seq).toBe(2);
  });
});
