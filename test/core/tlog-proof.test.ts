/**
 * tlog-proof.ts: the C2SP tlog-proof text form, parsed strictly and with bounded sizes.
 */
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../src/core/encoding.js';
import { MAX_ENTRY_BYTES } from '../../src/core/entry.js';
import {
  formatTlogProof,
  MAX_PROOF_HASHES,
  parseTlogProof,
  TLOG_PROOF_HEADER,
  type TlogProof,
} from '../../src/core/tlog-proof.js';
import { thrownCode } from './segment-builder.js';

const hash = (b: number) => new Uint8Array(32).fill(b);
const NOTE =
  'example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 example.com/log AQIDBAkI\n';
const proof: TlogProof = {
  extra: new TextEncoder().encode('{"kind":"event"}'),
  index: 2,
  hashes: [hash(1), hash(2)],
  checkpointNote: NOTE,
};

describe('tlog-proof', () => {
  it('formats the C2SP layout and parses it back', () => {
    const text = formatTlogProof(proof);
    expect(text.split('\n').slice(0, 5)).toEqual([
      TLOG_PROOF_HEADER,
      `extra ${toBase64(proof.extra as Uint8Array)}`,
      'index 2',
      toBase64(hash(1)),
      toBase64(hash(2)),
    ]);
    expect(parseTlogProof(text)).toEqual(proof);
    const bare = { ...proof, extra: undefined, hashes: [] };
    expect(parseTlogProof(formatTlogProof(bare))).toEqual(bare);
  });

  const text = formatTlogProof(proof);
  const hashLines = (n: number) => Array.from({ length: n }, () => toBase64(hash(7))).join('\n');
  it.each([
    ['no blank line', text.replace('\n\n', '\n')],
    ['another header', text.replace(TLOG_PROOF_HEADER, 'c2sp.org/tlog-proof@v2')],
    ['a bad extra line', text.replace('extra ', 'extra !')],
    ['an index with a leading zero', text.replace('index 2', 'index 02')],
    ['an index past 2^53', text.replace('index 2', 'index 9007199254740993')],
    ['no index', text.replace('index 2\n', '')],
    ['a short hash', text.replace(toBase64(hash(2)), toBase64(new Uint8Array(31)))],
    ['a hash with whitespace', text.replace(toBase64(hash(2)), ` ${toBase64(hash(2))}`)],
    [
      '65 hashes',
      formatTlogProof({ ...proof, hashes: [] }).replace('index 2\n', `index 2\n${hashLines(65)}\n`),
    ],
    [
      'a million hash lines',
      formatTlogProof({ ...proof, hashes: [] }).replace(
        'index 2\n',
        `index 2\n${'x\n'.repeat(1_000_000)}`,
      ),
    ],
    [
      'an extra longer than an entry',
      formatTlogProof({ ...proof, extra: new Uint8Array(MAX_ENTRY_BYTES + 1) }),
    ],
  ])('rejects %s with PROOF_MALFORMED', (_, bad) => {
    expect(thrownCode(() => parseTlogProof(bad))).toBe('PROOF_MALFORMED');
  });

  it('accepts the limits themselves: 64 hashes, an entry-sized extra', () => {
    const hashes = Array.from({ length: MAX_PROOF_HASHES }, (_, i) => hash(i));
    expect(parseTlogProof(formatTlogProof({ ...proof, hashes })).hashes).toHaveLength(64);
    const extra = new Uint8Array(MAX_ENTRY_BYTES).fill(0x61);
    expect(parseTlogProof(formatTlogProof({ ...proof, extra })).extra).toEqual(extra);
  });
});
