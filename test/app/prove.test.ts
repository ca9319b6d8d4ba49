/**
 * Inclusion proofs in-process: found by index (O(log n) segment reads) and by event id, C2SP
 * tlog-proof round trip, and rejection of every kind of doctored proof.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { proveEntry } from '../../src/app/prove.js';
import { parseCheckpoint } from '../../src/core/checkpoint.js';
import { hasCode } from '../../src/core/errors.js';
import { hashLeaf } from '../../src/core/merkle.js';
import { checkSignature, parseNote } from '../../src/core/note.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { verifyInclusion } from '../../src/core/proof-verify.js';
import { formatTlogProof, parseTlogProof } from '../../src/core/tlog-proof.js';
import { logFixture, writeLog } from '../helpers/log-fixture.js';

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

describe('proveEntry', () => {
  it('proves every entry by index, against its own segment checkpoint', async () => {
    const { store, fx } = await proofLog(40, 7);
    for (let i = 0; i < 40; i++) {
      const p = await proveEntry(store, 'main', { index: i });
      expect(p.index).toBe(i);
      expect(p.treeSize).toBe(Math.min(40, (Math.floor(i / 7) + 1) * 7));
      expect(check(p.proof, fx).event.id).toBe(`evt-${i}`);
    }
  });

  it('finds the segment by index in O(log n) reads', async () => {
    const { store } = await proofLog(700, 7); // 100 segments
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
    await proveEntry(counting, 'main', { index: 345 });
    expect(reads).toBeLessThanOrEqual(8);
  });

  it('proves by event id', async () => {
    const { store, fx } = await proofLog();
    const p = await proveEntry(store, 'main', { id: 'evt-77' });
    expect(p.index).toBe(77);
    expect(check(p.proof, fx).event.id).toBe('evt-77');
  });

  it('reports ENTRY_NOT_FOUND for an index or id the log does not have', async () => {
    const { store } = await proofLog(10, 5);
    await expect(proveEntry(store, 'main', { index: 10 })).rejects.toSatisfy((e) =>
      hasCode(e, 'ENTRY_NOT_FOUND'),
    );
    await expect(proveEntry(store, 'main', { id: 'nope' })).rejects.toSatisfy((e) =>
      hasCode(e, 'ENTRY_NOT_FOUND'),
    );
    await expect(proveEntry(new MemoryStore(), 'main', { index: 0 })).rejects.toSatisfy((e) =>
      hasCode(e, 'LOG_EMPTY'),
    );
  });
});

describe('C2SP tlog-proof', () => {
  it('round-trips and rejects a doctored entry, index, hash or checkpoint', async () => {
    const { store, fx } = await proofLog(30, 8);
    const text = (await proveEntry(store, 'main', { index: 13 })).proof;
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
