/**
 * Inclusion proofs in-process: found by index (O(log n) segment reads) and by event id, C2SP
 * tlog-proof round trip, and rejection of every kind of doctored proof.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { proveEntry } from '../../src/app/prove.js';
import { parseCheckpoint } from '../../src/core/checkpoint.js';
import { hasCode } from '../../src/core/errors.js';
import { segmentKey } from '../../src/core/layout.js';
import { hashLeaf } from '../../src/core/merkle.js';
import { checkSignature, parseNote } from '../../src/core/note.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { verifyInclusion } from '../../src/core/proof-verify.js';
import { formatTlogProof, parseTlogProof } from '../../src/core/tlog-proof.js';
import { editEntry, forge, replaceStoredFile } from '../helpers/forge.js';
import {
  logFixture,
  makeKey,
  sampleEvent,
  type TestKey,
  writeLog,
} from '../helpers/log-fixture.js';

async function proofLog(count = 100, per = 7) {
  const store = new MemoryStore();
  const fx = logFixture(store);
  await writeLog(fx, count, per);
  return { store, fx };
}

/** Checks a tlog-proof as an auditor would; returns the entry JSON or throws. */
function check(text: string, fx: Awaited<ReturnType<typeof proofLog>>['fx']) {
  const proof = parseTlogProof(text);
  const note = parseNote(proof.checkpointNote);
  const cp = parseCheckpoint(note.text);
  if (
    !note.signatures.some(
      (s) => checkSignature(note.text, s, [fx.key.trusted], cp.origin).status === 'valid',
    )
  )
    throw new Error('untrusted');
  verifyInclusion(
    hashLeaf(proof.extra as Uint8Array),
    proof.index,
    cp.treeSize,
    proof.hashes,
    cp.root,
  );
  return JSON.parse(Buffer.from(proof.extra as Uint8Array).toString());
}

const trust = (fx: { key: TestKey }) => ({ trustedKeys: [fx.key.trusted] });

describe('proveEntry', () => {
  it('proves every entry by index, against its own segment checkpoint', async () => {
    const { store, fx } = await proofLog(40, 7);
    for (let i = 0; i < 40; i++) {
      const p = await proveEntry(store, 'main', { index: i }, trust(fx));
      expect(p.index).toBe(i);
      expect(p.treeSize).toBe(Math.min(40, (Math.floor(i / 7) + 1) * 7));
      expect(check(p.proof, fx).event.id).toBe(`evt-${i}`);
    }
  });

  it('finds the segment by index in O(log n) reads', async () => {
    const { store, fx } = await proofLog(700, 7); // 100 segments
    let reads = 0;
    const counting: ObjectStore = {
      location: 'c',
      putIfAbsent: (k, b) => store.putIfAbsent(k, b),
      exists: (k) => store.exists(k),
      list: (p, o) => store.list(p, o),
      get: (k) => {
        reads++;
        return store.get(k);
      },
    };
    await proveEntry(counting, 'main', { index: 345 }, trust(fx));
    expect(reads).toBeLessThanOrEqual(8);
  });

  it('proves by event id', async () => {
    const { store, fx } = await proofLog();
    const p = await proveEntry(store, 'main', { id: 'evt-77' }, trust(fx));
    expect(p.index).toBe(77);
    expect(check(p.proof, fx).event.id).toBe('evt-77');
  });

  it('reports ENTRY_NOT_FOUND for an index or id the log does not have', async () => {
    const { store, fx } = await proofLog(10, 5);
    await expect(proveEntry(store, 'main', { index: 10 }, trust(fx))).rejects.toSatisfy((e) =>
      hasCode(e, 'ENTRY_NOT_FOUND'),
    );
    await expect(proveEntry(store, 'main', { id: 'nope' }, trust(fx))).rejects.toSatisfy((e) =>
      hasCode(e, 'ENTRY_NOT_FOUND'),
    );
    await expect(proveEntry(new MemoryStore(), 'main', { index: 0 }, trust(fx))).rejects.toSatisfy(
      (e) => hasCode(e, 'LOG_EMPTY'),
    );
  });
});

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** 100 events, 7 per segment (segments 0..14), in a folder store whose files can be replaced. */
async function folderProofLog() {
  const root = await mkdtemp(join(tmpdir(), 'al-prove-'));
  dirs.push(root);
  const store = new FolderStore(root);
  const fx = logFixture(store);
  await writeLog(fx, 100, 7);
  return { root, store, fx };
}

/** Replaces segment `seq` with a copy whose entries say `evt-<n>` was done by mallory, re-signed. */
async function forgeSegment(root: string, store: FolderStore, seq: number) {
  const key = segmentKey('main', seq);
  const forged = await forge((await store.get(key)) as Uint8Array, {
    entries: (es) =>
      es.map((e) =>
        editEntry(e, (x) => ({
          ...x,
          event: { ...(x.event as object), actor: { id: 'mallory', type: 'user' } },
        })),
      ),
    signers: [makeKey('mallory').signer],
  });
  await replaceStoredFile(root, key, forged);
}

describe('proveEntry trusts only verified segments', () => {
  it('refuses to prove an entry of a forged segment, by index and by id', async () => {
    // Prepare: segment 7 holds entries 49..55.
    const { root, store, fx } = await folderProofLog();
    await forgeSegment(root, store, 7);
    // Act / Assess
    await expect(proveEntry(store, 'main', { index: 50 }, trust(fx))).rejects.toSatisfy((e) =>
      hasCode(e, 'SEGMENT_UNTRUSTED'),
    );
    await expect(proveEntry(store, 'main', { id: 'evt-50' }, trust(fx))).rejects.toSatisfy((e) =>
      hasCode(e, 'SEGMENT_UNTRUSTED'),
    );
  });

  it('refuses when a segment the index search reads is forged, even if the entry is elsewhere', async () => {
    // Prepare: the search over segments 0..14 reads segment 7 first.
    const { root, store, fx } = await folderProofLog();
    await forgeSegment(root, store, 7);
    // Act / Assess
    await expect(proveEntry(store, 'main', { index: 3 }, trust(fx))).rejects.toSatisfy((e) =>
      hasCode(e, 'SEGMENT_UNTRUSTED'),
    );
    // A proof against untouched segments still works when the search does not touch the forgery.
    const { store: clean, fx: cleanFx } = await folderProofLog();
    expect((await proveEntry(clean, 'main', { index: 3 }, trust(cleanFx))).index).toBe(3);
  });

  it('refuses with the wrong trusted key', async () => {
    const { store } = await proofLog(20, 7);
    await expect(
      proveEntry(store, 'main', { index: 3 }, { trustedKeys: [makeKey('other').trusted] }),
    ).rejects.toSatisfy((e) => hasCode(e, 'SEGMENT_UNTRUSTED'));
  });

  it('reports an event id stored more than once as ENTRY_AMBIGUOUS naming the indexes; each proves by index', async () => {
    // Prepare: evt-5 archived twice (e.g. sent twice by its producer), in different segments.
    const store = new MemoryStore();
    const fx = logFixture(store);
    const a = await fx.open({ maxEvents: 3 });
    const stored = [];
    for (const i of [1, 5, 2, 3, 5, 4]) stored.push((await a.submit(sampleEvent(i))).stored);
    await a.close();
    const receipts = await Promise.all(stored);
    // Act
    const err = await proveEntry(store, 'main', { id: 'evt-5' }, trust(fx)).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Assess
    expect(hasCode(err, 'ENTRY_AMBIGUOUS')).toBe(true);
    expect((err as { matches?: number[] }).matches).toEqual([1, 4]);
    for (const r of [receipts[1], receipts[4]]) {
      const p = await proveEntry(store, 'main', { index: r?.index as number }, trust(fx));
      expect(check(p.proof, fx).event.id).toBe('evt-5');
    }
  });
});

describe('C2SP tlog-proof', () => {
  it('round-trips and rejects a doctored entry, index, hash or checkpoint', async () => {
    const { store, fx } = await proofLog(30, 8);
    const text = (await proveEntry(store, 'main', { index: 13 }, trust(fx))).proof;
    expect(formatTlogProof(parseTlogProof(text))).toBe(text);
    const p = parseTlogProof(text);
    const extra = Uint8Array.from(p.extra as Uint8Array);
    extra[20] = (extra[20] as number) ^ 1;
    const hash0 = Uint8Array.from(p.hashes[0] as Uint8Array);
    hash0[0] = (hash0[0] as number) ^ 1;
    const doctored = [
      formatTlogProof({ ...p, extra }),
      formatTlogProof({ ...p, index: 12 }),
      formatTlogProof({ ...p, hashes: [hash0, ...p.hashes.slice(1)] }),
      formatTlogProof({ ...p, hashes: p.hashes.slice(1) }),
      text.replace(/\n(\d+)\n/, (_m, n) => `\n${Number(n) + 1}\n`),
    ];
    for (const d of doctored) expect(() => check(d, fx)).toThrow();
    expect(check(text, fx).event.id).toBe('evt-13');
  });

  it('rejects malformed proofs with PROOF_MALFORMED', () => {
    for (const bad of [
      '',
      'c2sp.org/tlog-proof@v1\nindex x\n\n',
      'other\nindex 1\n\nx\n',
      'c2sp.org/tlog-proof@v1\nindex 01\n\n',
      'c2sp.org/tlog-proof@v1\nindex 1\nnot-base64\n\n',
    ])
      expect(() => parseTlogProof(bad)).toThrow(
        expect.objectContaining({ code: 'PROOF_MALFORMED' }),
      );
  });
});
