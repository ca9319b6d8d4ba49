/**
 * The golden log (test/vectors/golden, written once by scripts/make-golden.mjs) must keep reading
 * exactly the same: a format change that broke old archives would fail here.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { loadPublicKey } from '../../src/adapters/keys.js';
import { verifyStore } from '../../src/app/verify.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { decodeEntry } from '../../src/core/entry.js';
import type { Finding } from '../../src/core/findings.js';
import { hashLeaf } from '../../src/core/merkle.js';
import { parseSegment } from '../../src/core/segment.js';

const dir = 'test/vectors/golden';
const expected = JSON.parse(readFileSync(`${dir}/EXPECTED.json`, 'utf8')) as {
  origin: string;
  segments: {
    key: string;
    seq: number;
    sha256: string;
    treeSize: number;
    root: string;
    encoding: string;
  }[];
  leafHashes: string[];
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('golden log', () => {
  it('verifies clean with its public key, strict entries included', async () => {
    const { spki } = await loadPublicKey(`${dir}/signing-key.pub.pem`);
    const findings: Finding[] = [];
    const result = await verifyStore(new FolderStore(`${dir}/store`), {
      trustedKeys: [{ spki }],
      strictEntries: true,
      origin: expected.origin,
      onFinding: (f) => findings.push(f),
    });
    expect(findings).toEqual([]);
    expect(result.logs[0]).toMatchObject({ treeSize: expected.leafHashes.length, quarantined: 1 });
  });

  it('has the recorded segment hashes, tree sizes, roots and leaf hashes', () => {
    const leaves: string[] = [];
    for (const s of expected.segments) {
      const bytes = new Uint8Array(readFileSync(`${dir}/store/${s.key}`));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(s.sha256);
      const seg = parseSegment(bytes);
      expect(seg.checkpoint).toMatchObject({
        seq: s.seq,
        treeSize: s.treeSize,
        origin: expected.origin,
      });
      expect(hex(seg.checkpoint.root)).toBe(s.root);
      expect(seg.header.encoding).toBe(s.encoding);
      for (const e of splitEntries(
        decodeBody(seg.body, seg.header.encoding, seg.header.rawLength),
      )) {
        decodeEntry(e); // canonical and schema-valid, or throws
        leaves.push(hex(hashLeaf(e)));
      }
    }
    expect(leaves).toEqual(expected.leafHashes);
  });

  it('starts with the documented magic line and checkpoint lines', () => {
    const text = readFileSync(`${dir}/store/${expected.segments[1]?.key}`).toString('latin1');
    const lines = text.split('\n');
    expect(lines.slice(0, 2)).toEqual(['auditlock-segment v1', expected.origin]);
    expect(lines[4]).toBe('auditlock.segment 1');
    expect(lines[5]).toMatch(/^auditlock\.prev [A-Za-z0-9+/]{43}=$/);
    expect(lines[6]).toMatch(/^auditlock\.sealed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(lines[7]).toMatch(/^auditlock\.payload [A-Za-z0-9+/]{43}=$/);
    expect(lines[8]).toBe('');
  });
});
