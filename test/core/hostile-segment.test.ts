/**
 * Bomb-shaped segments of at most 64 KiB, signed by the real key (so only the bounds stop them),
 * through full verification: each gives its coded finding without materialising the bomb.
 * Costs are asserted as counts (views made, JSON.parse calls), never as time.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeBody } from '../../src/core/body-codec.js';
import { canonicalize } from '../../src/core/canonical-json.js';
import { MAX_ENTRY_BYTES } from '../../src/core/entry.js';
import { MAX_ENTRY_FINDINGS } from '../../src/core/log-verifier.js';
import { type ParsedSegment, parseSegment } from '../../src/core/segment.js';
import { makeKey, type TestKey } from '../helpers/log-fixture.js';
import { resign, sealedSegment, verifyCodes } from './segment-builder.js';

let key: TestKey;
let seg: ParsedSegment;

beforeAll(async () => {
  key = makeKey('main');
  seg = parseSegment((await sealedSegment(key, { encoding: 'gzip' })).bytes);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The real segment with its body replaced by gzip(`raw`), header sizes to match, re-signed. */
async function withBody(raw: Uint8Array): Promise<Uint8Array> {
  const body = encodeBody(raw, 'gzip');
  const header = { ...seg.header, length: body.length, rawLength: raw.length };
  return resign(seg, key, { headerText: canonicalize(header), body });
}

function repeatLine(line: string, times: number): Uint8Array {
  const one = new TextEncoder().encode(`${line}\n`);
  const out = new Uint8Array(one.length * times);
  for (let i = 0; i < times; i++) out.set(one, i * one.length);
  return out;
}

describe('bombs in a <= 64 KiB object', () => {
  it('a body of a million tiny lines under a header saying 3: BODY_INVALID, no view per line', async () => {
    // Prepare
    const bytes = await withBody(repeatLine('{}', 1_000_000));
    expect(bytes.length).toBeLessThanOrEqual(64 * 1024);
    const subarray = vi.spyOn(Uint8Array.prototype, 'subarray');
    // Act
    const codes = verifyCodes(bytes, [key.trusted]);
    // Assess
    expect(codes).toEqual(['BODY_INVALID']);
    expect(subarray.mock.calls.length).toBeLessThan(100);
  });

  it('one huge entry of nested brackets: ENTRY_INVALID, never given to JSON.parse', async () => {
    // Prepare: three lines as the header says, the last one 8 MiB of brackets.
    const raw = Buffer.concat([
      Buffer.from('[]\n[]\n'),
      Buffer.alloc(4 * 1024 * 1024, '['),
      Buffer.alloc(4 * 1024 * 1024, ']'),
      Buffer.from('\n'),
    ]);
    const bytes = await withBody(raw);
    expect(bytes.length).toBeLessThanOrEqual(64 * 1024);
    const parse = vi.spyOn(JSON, 'parse');
    // Act
    const codes = verifyCodes(bytes, [key.trusted]);
    // Assess: every entry is invalid, the tree is checked, nothing big was parsed.
    expect(codes.filter((c) => c === 'ENTRY_INVALID')).toHaveLength(3);
    expect(codes).toContain('ROOT_MISMATCH');
    expect(parse.mock.calls.every(([text]) => String(text).length <= MAX_ENTRY_BYTES)).toBe(true);
  });

  it('an entry just under the size limit but nested 100,000 deep: ENTRY_INVALID unparsed', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const bytes = await withBody(new TextEncoder().encode(`[]\n[]\n${deep}\n`));
    const parse = vi.spyOn(JSON, 'parse');
    const codes = verifyCodes(bytes, [key.trusted]);
    expect(codes.filter((c) => c === 'ENTRY_INVALID')).toHaveLength(3);
    expect(parse.mock.calls.some(([text]) => String(text).length > 1000)).toBe(false);
  });

  it('a header claiming 64 MiB over a tiny stream: BODY_INVALID before inflating', async () => {
    const body = encodeBody(repeatLine('[]', 3), 'gzip');
    const header = { ...seg.header, length: body.length, rawLength: 64 * 1024 * 1024 };
    const bytes = await resign(seg, key, { headerText: canonicalize(header), body });
    expect(verifyCodes(bytes, [key.trusted])).toEqual(['BODY_INVALID']);
  });

  it('a million equal invalid entries under a header saying so: 100 listed and one count', async () => {
    // Prepare: the header claims the million lines, so every line is an entry to check.
    const raw = repeatLine('{}', 1_000_000);
    const body = encodeBody(raw, 'gzip');
    const header = { ...seg.header, count: 1_000_000, length: body.length, rawLength: raw.length };
    const bytes = await resign(seg, key, { headerText: canonicalize(header), body });
    expect(bytes.length).toBeLessThanOrEqual(64 * 1024);
    // Act
    const codes = verifyCodes(bytes, [key.trusted]);
    // Assess: the report stays readable; the tree is still checked.
    expect(codes.filter((c) => c === 'ENTRY_INVALID')).toHaveLength(MAX_ENTRY_FINDINGS + 1);
    expect(codes).toContain('ROOT_MISMATCH');
  });

  it('distinct invalid entries are capped the same way', async () => {
    const lines = Array.from({ length: 250 }, (_, i) => `[${i}]\n`).join('');
    const raw = new TextEncoder().encode(lines);
    const body = encodeBody(raw, 'gzip');
    const header = { ...seg.header, count: 250, length: body.length, rawLength: raw.length };
    const bytes = await resign(seg, key, { headerText: canonicalize(header), body });
    const codes = verifyCodes(bytes, [key.trusted]);
    expect(codes.filter((c) => c === 'ENTRY_INVALID')).toHaveLength(MAX_ENTRY_FINDINGS + 1);
  });
});
