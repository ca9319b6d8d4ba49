/**
 * Consistency proofs from a frontier and the new leaves equal the RFC 9162 reference proof over
 * all leaf hashes, and verify; and the store-based builder refuses to hand out a proof its
 * segments do not support.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { readTrustedSegment } from '../../src/app/trusted-segment.js';
import { consistencyProofFromStore } from '../../src/app/witness-proof.js';
import { CompactRange } from '../../src/core/compact-range.js';
import { utf8 } from '../../src/core/encoding.js';
import { hashLeaf, merkleRoot } from '../../src/core/merkle.js';
import { consistencyProof } from '../../src/core/proof.js';
import { verifyConsistency } from '../../src/core/proof-verify.js';
import { consistencyProofFromFrontier } from '../../src/core/witness-consistency.js';
import { LOG, testLog } from './helpers.js';

const leaves = (n: number) => Array.from({ length: n }, (_, i) => hashLeaf(utf8(`leaf ${i}`)));

describe('consistencyProofFromFrontier', () => {
  it('equals the reference proof for every 1 <= m <= n <= 40', () => {
    const all = leaves(40);
    for (let n = 1; n <= 40; n++)
      for (let m = 1; m <= n; m++) {
        const old = new CompactRange();
        old.appendAll(all.slice(0, m));
        const proof = consistencyProofFromFrontier(old, all.slice(m, n));
        expect(proof).toEqual(consistencyProof(all.slice(0, n), m));
      }
  });

  it('verifies for random sizes up to 5,000', () => {
    const all = leaves(5000);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 5000 }), (m, k) => {
        const n = Math.min(5000, m + k);
        const old = new CompactRange();
        old.appendAll(all.slice(0, m));
        const proof = consistencyProofFromFrontier(old, all.slice(m, n));
        verifyConsistency(m, n, proof, old.root(), merkleRoot(all, 0, n));
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a proof from the empty tree', () => {
    expect(() => consistencyProofFromFrontier(new CompactRange(), leaves(2))).toThrow(
      expect.objectContaining({ code: 'RANGE_INVALID' }),
    );
  });
});

describe('consistencyProofFromStore', () => {
  it('builds proofs from any size, segment boundary or not, to the head', async () => {
    const log = testLog();
    await log.append(23, 5); // segments end at 5, 10, 15, 20, 23
    const read = (seq: number) => readTrustedSegment(log.store, LOG, seq, [log.key.trusted]);
    const head = await read(4);
    for (let m = 1; m <= 23; m++) {
      const { proof, oldRoot } = await consistencyProofFromStore(read, head, 4, m);
      verifyConsistency(m, 23, proof, oldRoot, head.seg.checkpoint.root);
    }
    await expect(consistencyProofFromStore(read, head, 4, 24)).rejects.toMatchObject({
      code: 'WITNESS_AHEAD',
    });
  });

  it('refuses when the stored segments do not chain to the head (a segment swapped for a fork)', async () => {
    const log = testLog();
    await log.append(15, 5);
    const fork = testLog(log.key);
    await fork.append(15, 5, 900);
    const mixed = new MemoryStore();
    for await (const o of log.store.list('')) {
      const from = o.key.endsWith('00000000000000000001.seg') ? fork.store : log.store;
      await mixed.putIfAbsent(o.key, (await from.get(o.key)) as Uint8Array);
    }
    const read = (seq: number) => readTrustedSegment(mixed, LOG, seq, [log.key.trusted]);
    await expect(consistencyProofFromStore(read, await read(2), 2, 3)).rejects.toMatchObject({
      code: 'PROOF_INVALID',
    });
  });
});
