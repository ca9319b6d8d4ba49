/**
 * checkSegment (the bytes-only half of a segment's checks, run on worker threads) and
 * LogVerifier.addCheckedSegment: fed the same stored bytes, a verifier that takes the checks
 * reports exactly what one that checks everything itself reports (codes, locations, details,
 * order) and ends in the same summary and positions, on logs with bytes flipped, segments cut,
 * dropped, repeated or swapped, re-signed segments with invalid entries and receive times that go
 * back, and trusted checkpoints inside, at and between segments.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { CompactRange } from '../../src/core/compact-range.js';
import { utf8 } from '../../src/core/encoding.js';
import { decodeEntry } from '../../src/core/entry.js';
import type { Finding } from '../../src/core/findings.js';
import { segmentKey } from '../../src/core/layout.js';
import { LogVerifier, type LogVerifyOptions } from '../../src/core/log-verifier.js';
import { hashLeaf } from '../../src/core/merkle.js';
import { segmentEntries } from '../../src/core/segment.js';
import { checkSegment, type SegmentCheckOptions } from '../../src/core/segment-check.js';
import type { TrustedCheckpoint } from '../../src/core/signed-checkpoint.js';
import { editEntry, forge } from '../helpers/forge.js';
import { logFixture, type TestKey, writeLog } from '../helpers/log-fixture.js';
import { parseSegment } from './segment-builder.js';

const SEGMENTS = 8;
const PER_SEGMENT = 6;
const ORIGIN = 'audit.example.com/test/main';

let key: TestKey;
let clean: Uint8Array[];
/** Re-signed variants of each segment, each wrong in one way a writer could get wrong. */
let forged: Uint8Array[][];
/** Root of the clean log at every tree size. */
let roots: Uint8Array[];

beforeAll(async () => {
  const fx = logFixture(new MemoryStore());
  key = fx.key;
  await writeLog(fx, SEGMENTS * PER_SEGMENT, PER_SEGMENT);
  clean = [];
  for (let seq = 0; seq < SEGMENTS; seq++)
    clean.push((await fx.store.get(segmentKey('main', seq))) as Uint8Array);
  const range = new CompactRange();
  roots = [range.root()];
  for (const bytes of clean)
    for (const e of segmentEntries(parseSegment(bytes))) {
      range.append(hashLeaf(e));
      roots.push(range.root());
    }
  const signers = [key.signer];
  const first = segmentEntries(parseSegment(clean[0] as Uint8Array)).map((e) => e.slice());
  forged = await Promise.all(
    clean.map((bytes) =>
      Promise.all([
        // An entry that is not JSON, one of another kind, and entries in reverse order.
        forge(bytes, { signers, entries: (es) => es.map((e, i) => (i === 2 ? utf8('{"x') : e)) }),
        forge(bytes, {
          signers,
          entries: (es) =>
            es.map((e, i) => (i === 1 ? editEntry(e, (x) => ({ ...x, kind: 1 })) : e)),
        }),
        forge(bytes, { signers, entries: (es) => [...es].reverse() }),
        // The first segment's entries (older receive times) in this one's place.
        forge(bytes, { signers, entries: () => first }),
        // Signed, but the tree is not recomputed (root and frontier disagree with the entries).
        forge(bytes, { signers, recomputeTree: false, entries: (es) => es.slice(0, -1) }),
      ]),
    ),
  );
});

type Edit =
  | { kind: 'flip'; seq: number; at: number; mask: number }
  | { kind: 'cut'; seq: number; at: number }
  | { kind: 'drop'; seq: number }
  | { kind: 'repeat'; seq: number }
  | { kind: 'swap'; seq: number; other: number }
  | { kind: 'forge'; seq: number; variant: number };

const seqArb = fc.integer({ min: 0, max: SEGMENTS - 1 });
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    seq: seqArb,
    at: fc.nat(),
    mask: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({ kind: fc.constant('cut' as const), seq: seqArb, at: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), seq: seqArb }),
  fc.record({ kind: fc.constant('repeat' as const), seq: seqArb }),
  fc.record({ kind: fc.constant('swap' as const), seq: seqArb, other: seqArb }),
  fc.record({ kind: fc.constant('forge' as const), seq: seqArb, variant: fc.nat({ max: 4 }) }),
);

/** The log's segments as (seq, bytes) after the edits, in key order. */
function edited(edits: readonly Edit[]): { seq: number; bytes: Uint8Array }[] {
  let segs = clean.map((bytes, seq) => ({ seq, bytes: bytes.slice() }));
  for (const e of edits) {
    const i = segs.findIndex((s) => s.seq === e.seq);
    const s = segs[i];
    if (!s) continue;
    if (e.kind === 'flip' && s.bytes.length > 0) {
      const at = e.at % s.bytes.length;
      s.bytes[at] = (s.bytes[at] as number) ^ e.mask;
    } else if (e.kind === 'cut') s.bytes = s.bytes.slice(0, e.at % (s.bytes.length + 1));
    else if (e.kind === 'drop') segs = segs.filter((x) => x !== s);
    else if (e.kind === 'repeat' && i > 0) s.bytes = (segs[i - 1] as typeof s).bytes.slice();
    else if (e.kind === 'swap') {
      const o = segs.find((x) => x.seq === e.other);
      if (o) [s.bytes, o.bytes] = [o.bytes, s.bytes];
    } else if (e.kind === 'forge')
      s.bytes = ((forged[e.seq] as Uint8Array[])[e.variant] as Uint8Array).slice();
  }
  return segs;
}

/** What of a verifier's options checkSegment takes (the strict check too is the function). */
function segmentCheckOptions(opts: LogVerifyOptions): SegmentCheckOptions {
  return { trustedKeys: opts.trustedKeys, strictEntries: opts.strictEntries };
}

/** Feeds the segments to a verifier, with or without checkSegment first. */
function verify(
  segs: readonly { seq: number; bytes: Uint8Array }[],
  opts: LogVerifyOptions,
  checked: boolean,
) {
  const findings: Finding[] = [];
  const v = new LogVerifier('main', opts, (f) => findings.push(f));
  const positions: unknown[] = [];
  const hashes: Uint8Array[] = [];
  for (const { seq, bytes } of segs) {
    const k = segmentKey('main', seq);
    hashes.push(
      checked
        ? v.addCheckedSegment(k, seq, bytes, checkSegment(bytes, segmentCheckOptions(opts)))
        : v.addSegment(k, seq, bytes),
    );
    positions.push(v.position());
  }
  return { findings, positions, hashes, summary: v.finish() };
}

const checkpointArb = fc.array(
  fc.record({ size: fc.nat({ max: SEGMENTS * PER_SEGMENT }), forked: fc.boolean() }),
  { maxLength: 3 },
);

describe('LogVerifier.addCheckedSegment', () => {
  it('reports what addSegment reports, in the same order, on tampered logs', () => {
    fc.assert(
      fc.property(
        fc.array(editArb, { maxLength: 4 }),
        checkpointArb,
        fc.boolean(),
        (edits, cps, strictEntries) => {
          const trustedCheckpoints: TrustedCheckpoint[] = cps.map(({ size, forked }) => ({
            origin: ORIGIN,
            treeSize: size,
            root: forked
              ? (roots[(size + 1) % roots.length] as Uint8Array)
              : (roots[size] as Uint8Array),
          }));
          const opts = {
            trustedKeys: [key.trusted],
            trustedCheckpoints,
            strictEntries: strictEntries ? decodeEntry : undefined,
          };
          const segs = edited(edits);
          const inThread = verify(segs, opts, false);
          expect(verify(segs, opts, true)).toEqual(inThread);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('takes a clean segment from the check without reading its entries again', () => {
    // Prepare: a check of segment 1 whose entry summary is replaced by one of other counts.
    const opts = { trustedKeys: [key.trusted] };
    const v = new LogVerifier('main', opts, () => {});
    v.addSegment(segmentKey('main', 0), 0, clean[0] as Uint8Array);
    const check = checkSegment(clean[1] as Uint8Array, opts);
    expect(check?.entries).toBeDefined();
    const entries = { ...(check?.entries as NonNullable<NonNullable<typeof check>['entries']>) };
    // Act
    v.addCheckedSegment(segmentKey('main', 1), 1, clean[1] as Uint8Array, {
      ...(check as NonNullable<typeof check>),
      entries: { ...entries, quarantined: 5 },
    });
    // Assess: the summary's count is what the verifier counted.
    expect(v.finish().quarantined).toBe(5);
  });

  it('leaves entries that are not regular to the verifier', async () => {
    const opts = { trustedKeys: [key.trusted] };
    for (const variant of [0, 1, 2]) {
      const bytes = (forged[3] as Uint8Array[])[variant] as Uint8Array;
      const check = checkSegment(bytes, opts);
      expect(check).toBeDefined();
      expect(check?.entries).toBeUndefined();
    }
    expect(checkSegment(utf8('not a segment'), opts)).toBeUndefined();
    expect(checkSegment(clean[3] as Uint8Array, opts)?.entries).toMatchObject({
      count: PER_SEGMENT,
      treeSize: 4 * PER_SEGMENT,
    });
  });

  it('rethrows what is not a finding (a bug), as addSegment does', () => {
    const broken = { trustedKeys: null as unknown as [] };
    expect(() => checkSegment(clean[0] as Uint8Array, broken)).toThrow(TypeError);
  });
});
