/**
 * Event-id index files in pulled bundles (FORMAT.md §7.2): pull writes one per segment, receipt
 * by id reads only the segment they name, and a doctored index (the id's tag removed, a tag
 * planted in another segment's file, garbage, a file deleted) never changes the answer, only its
 * cost; verify --bundle reports a malformed index, one naming another segment's hash, and one
 * without its segment, and outside a bundle they are unexpected objects.
 */
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { pullBundle } from '../../src/app/pull.js';
import { makeReceipt } from '../../src/app/receipt.js';
import { verifyStore } from '../../src/app/verify.js';
import type { Finding } from '../../src/core/findings.js';
import { sha256 } from '../../src/core/hash.js';
import { encodeIdIndex } from '../../src/core/id-index.js';
import { idIndexKey, segmentKey } from '../../src/core/layout.js';
import { logFixture, writeLog } from '../helpers/log-fixture.js';

const LOG = 'main';
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
const tempDir = async (name: string) => {
  const d = await mkdtemp(join(tmpdir(), `al-ids-${name}-`));
  dirs.push(d);
  return d;
};

/** 100 events (`evt-0`..`evt-99`) in segments of 10, pulled into a bundle. */
async function pulledBundle() {
  const source = await tempDir('src');
  const fx = logFixture(new FolderStore(source));
  await writeLog(fx, 100, 10);
  const out = await tempDir('bundle');
  await pullBundle({
    source: fx.store,
    out,
    trustedKeys: [fx.key.trusted],
    selection: { by: 'seq' },
  });
  const file = (seq: number) => join(out, idIndexKey(LOG, seq));
  return { out, bundle: new FolderStore(out), key: fx.key, file };
}

async function verifyBundle(
  out: string,
  trusted: ReturnType<typeof logFixture>['key']['trusted'],
  bundle = true,
) {
  const findings: Finding[] = [];
  await verifyStore(new FolderStore(out), {
    trustedKeys: [trusted],
    bundle,
    onFinding: (f) => findings.push(f),
  });
  return findings;
}

describe('event-id index files of a pulled bundle', () => {
  it('pull writes one per segment; receipt by id reads only the segment they name', async () => {
    // Prepare
    const { out, bundle, key, file } = await pulledBundle();
    const opts = { trustedKeys: [key.trusted] };

    // Act
    const byId = await makeReceipt(bundle, LOG, { id: 'evt-57' }, opts);
    const byIndex = await makeReceipt(bundle, LOG, { index: 57 }, opts);

    // Assess
    for (let seq = 0; seq < 10; seq++) {
      const segment = await readFile(join(out, segmentKey(LOG, seq)));
      const ids = Array.from({ length: 10 }, (_, i) => `evt-${seq * 10 + i}`);
      expect(new Uint8Array(await readFile(file(seq)))).toEqual(
        encodeIdIndex(sha256(segment), ids),
      );
    }
    expect(byId.text).toBe(byIndex.text);
    expect(byId).toMatchObject({ indexed: 10, scanned: 0, trustedReads: 1 });
    expect(await verifyBundle(out, key.trusted)).toEqual([]);
  });

  it('a doctored index never changes the answer: the id removed, planted elsewhere, garbage, deleted', async () => {
    // Prepare
    const { out, bundle, key, file } = await pulledBundle();
    const opts = { trustedKeys: [key.trusted] };
    const hashOf = async (seq: number) => sha256(await readFile(join(out, segmentKey(LOG, seq))));
    const idsOf = (seq: number) => Array.from({ length: 10 }, (_, i) => `evt-${seq * 10 + i}`);
    const expected = (await makeReceipt(bundle, LOG, { index: 42 }, opts)).text;

    // Act + Assess: the tag of evt-42 taken out of segment 4's index: found by the full scan
    await writeFile(
      file(4),
      encodeIdIndex(
        await hashOf(4),
        idsOf(4).filter((id) => id !== 'evt-42'),
      ),
    );
    const removed = await makeReceipt(bundle, LOG, { id: 'evt-42' }, opts);
    expect(removed.text).toBe(expected);
    expect(removed.scanned).toBe(10);

    // Act + Assess: evt-42 also claimed by segment 7's index: 7 is read, its index recomputed,
    // found doctored, and the full scan answers
    await writeFile(file(4), encodeIdIndex(await hashOf(4), idsOf(4)));
    await writeFile(file(7), encodeIdIndex(await hashOf(7), [...idsOf(7), 'evt-42']));
    const planted = await makeReceipt(bundle, LOG, { id: 'evt-42' }, opts);
    expect(planted.text).toBe(expected);
    expect(planted.scanned).toBe(10);

    // Act + Assess: garbage in segment 4's file, segment 2's deleted: those two are scanned
    await writeFile(file(7), encodeIdIndex(await hashOf(7), idsOf(7)));
    await writeFile(file(4), 'not an index');
    await unlink(file(2));
    const garbage = await makeReceipt(bundle, LOG, { id: 'evt-42' }, opts);
    expect(garbage.text).toBe(expected);
    expect(garbage.scanned).toBe(2);

    // Act + Assess: an id that is nowhere: every segment is scanned before "not found"
    await expect(makeReceipt(bundle, LOG, { id: 'evt-1000' }, opts)).rejects.toMatchObject({
      code: 'ENTRY_NOT_FOUND',
    });
  });

  it('verify --bundle reports a malformed index, one naming another hash, and one without its segment', async () => {
    // Prepare
    const { out, key, file } = await pulledBundle();
    await writeFile(file(3), 'garbage');
    await writeFile(file(5), encodeIdIndex(sha256(new Uint8Array([1])), []));
    await writeFile(file(12), encodeIdIndex(sha256(new Uint8Array([2])), []));

    // Act
    const findings = await verifyBundle(out, key.trusted);
    const outside = await verifyBundle(out, key.trusted, false);

    // Assess
    expect(findings.map((f) => [f.code, f.seq])).toEqual([
      ['BUNDLE_INDEX_INVALID', 3],
      ['BUNDLE_INDEX_INVALID', 5],
      ['BUNDLE_INDEX_INVALID', 12],
    ]);
    expect(findings[1]?.detail).toMatch(/segment 5 hashes to/);
    expect(findings[2]?.detail).toMatch(/has no segment 12 beside it/);
    expect(
      outside.filter((f) => f.code === 'UNEXPECTED_OBJECT' && f.key?.includes('/ids/')),
    ).toHaveLength(11);
  });
});
