/**
 * sealSegment builds the stored object in one buffer (issue 14). The bytes must be exactly those
 * of the plain assembly it replaced: join the entries, encode the body, prepend the header line,
 * hash, sign, prepend the note. `referenceSeal` below is that assembly, kept here as the oracle;
 * both are given the same signature (ECDSA signatures are randomised), recorded from a real key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BodyEncoding, encodeBody } from '../../src/core/body-codec.js';
import { canonicalize } from '../../src/core/canonical-json.js';
import { CompactRange } from '../../src/core/compact-range.js';
import { toBase64 } from '../../src/core/encoding.js';
import { joinItems } from '../../src/core/event-batch.js';
import { sha256 } from '../../src/core/hash.js';
import { hashLeaf } from '../../src/core/merkle.js';
import { formatSignatureLine, signNoteText } from '../../src/core/note.js';
import type { Signer } from '../../src/core/ports.js';
import { emptyHead, type LogHead, type SealInput, sealSegment } from '../../src/core/seal.js';
import { formatSegmentCheckpoint, parseSegment, SEGMENT_MAGIC } from '../../src/core/segment.js';
import { formatTimestamp } from '../../src/core/timestamp.js';
import { makeKey } from '../helpers/log-fixture.js';
import { ORIGIN, sampleEntries, verifyCodes } from './segment-builder.js';

const T0 = Date.UTC(2026, 11, 2, 6, 0, 0);
const key = makeKey('seal');

/** A signer that signs with `inner` and remembers each message and signature. */
function recording(inner: Signer): Signer & { readonly log: { text: string; der: Uint8Array }[] } {
  const log: { text: string; der: Uint8Array }[] = [];
  return {
    description: inner.description,
    publicKey: () => inner.publicKey(),
    async sign(message) {
      const der = await inner.sign(message);
      log.push({ text: Buffer.from(message).toString('utf8'), der });
      return der;
    },
    log,
  };
}

/** Signs only `text`, with the signature recorded for it. */
function replaying(inner: Signer, text: string, der: Uint8Array): Signer {
  return {
    description: inner.description,
    publicKey: () => inner.publicKey(),
    async sign(message) {
      expect(Buffer.from(message).toString('utf8')).toBe(text);
      return der;
    },
  };
}

/**
 * The assembly sealSegment used before issue 14, one buffer per step, written out here rather than
 * through the helpers the new code shares (`joinEntries`, `encodeSegmentHead`), so a fault in those
 * cannot hide by being in both.
 */
/** A seal input with its entries as one array per entry. */
type ArrayInput = SealInput & { readonly entries: readonly Uint8Array[] };

async function referenceSeal(input: ArrayInput): Promise<Uint8Array> {
  const { head, entries } = input;
  const range = head.frontier.clone();
  for (const e of entries) range.append(hashLeaf(e));
  const raw = Buffer.concat(entries.flatMap((e) => [e, Uint8Array.of(0x0a)]));
  const body = encodeBody(raw, input.encoding);
  const header = {
    count: entries.length,
    encoding: input.encoding,
    firstIndex: head.frontier.size,
    firstReceivedAt: formatTimestamp(input.firstReceivedAt),
    frontierAfter: range.hashes().map(toBase64),
    frontierBefore: head.frontier.hashes().map(toBase64),
    lastReceivedAt: formatTimestamp(input.lastReceivedAt),
    length: body.length,
    rawLength: raw.length,
  };
  const payload = Buffer.concat([Buffer.from(`${canonicalize(header)}\n`), body]);
  const noteText = formatSegmentCheckpoint({
    origin: head.origin,
    treeSize: range.size,
    root: range.root(),
    seq: head.nextSeq,
    prev: head.prevHash,
    sealedAt: formatTimestamp(Math.max(input.sealedAt, input.lastReceivedAt, head.lastSealedAt)),
    payloadHash: sha256(payload),
  });
  const signature = await signNoteText(noteText, input.keyName ?? head.origin, input.signer);
  const sigLine = formatSignatureLine(signature);
  return Buffer.concat([Buffer.from(`${SEGMENT_MAGIC}${noteText}\n${sigLine}\n\n`), payload]);
}

/** Seals `input` both ways with one signature; returns both objects. */
async function sealBothWays(
  input: Omit<ArrayInput, 'signer'>,
): Promise<{ built: Uint8Array; reference: Uint8Array; head: LogHead }> {
  const signer = recording(key.signer);
  const sealed = await sealSegment({ ...input, signer });
  const [signed] = signer.log;
  if (signed === undefined || signer.log.length !== 1) throw new Error('expected one signature');
  const reference = await referenceSeal({
    ...input,
    signer: replaying(key.signer, signed.text, signed.der),
  });
  return { built: sealed.bytes, reference, head: sealed.head };
}

const entryArb = fc
  .uint8Array({ minLength: 1, maxLength: 300 })
  .map((b) => b.map((x) => (x === 0x0a ? 0x7b : x)));

const headArb: fc.Arbitrary<LogHead> = fc
  .record({
    origin: fc.constantFrom(ORIGIN, 'example.org/log', 'logs.example/ünïcode/ä'),
    leaves: fc.nat({ max: 70 }),
    nextSeq: fc.nat({ max: 1_000_000 }),
    prevHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    lastSealedAt: fc.nat({ max: 10_000 }),
  })
  .map(({ origin, leaves, nextSeq, prevHash, lastSealedAt }) => {
    const frontier = new CompactRange();
    for (let i = 0; i < leaves; i++) frontier.append(sha256(Uint8Array.of(i)));
    return {
      origin,
      nextSeq: leaves === 0 ? 0 : nextSeq,
      prevHash,
      frontier,
      lastReceivedAt: T0,
      lastSealedAt: T0 + lastSealedAt,
    };
  });

describe('sealSegment', () => {
  it('builds byte for byte what the step-by-step assembly builds', async () => {
    await fc.assert(
      fc.asyncProperty(
        headArb,
        fc.array(entryArb, { minLength: 1, maxLength: 40 }),
        fc.constantFrom<BodyEncoding>('identity', 'gzip'),
        fc.option(fc.constantFrom('k', 'audit.example.com/other-key-name', 'ключ'), {
          nil: undefined,
        }),
        fc.nat({ max: 5000 }),
        async (head, entries, encoding, keyName, spread) => {
          // Act
          const {
            built,
            reference,
            head: next,
          } = await sealBothWays({
            head,
            entries,
            firstReceivedAt: T0,
            lastReceivedAt: T0 + spread,
            sealedAt: T0 + 2000,
            encoding,
            ...(keyName === undefined ? {} : { keyName }),
          });
          // Assess
          expect(Buffer.from(built).equals(Buffer.from(reference))).toBe(true);
          expect(next.prevHash).toEqual(sha256(reference));
          expect(parseSegment(built).header.count).toBe(entries.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('builds a full 4,096-entry segment identical to the reference, verifiable', async () => {
    // Prepare
    const entries = sampleEntries(4096);
    const receivedAt = (e: Uint8Array | undefined): number =>
      Date.parse(JSON.parse(Buffer.from(e ?? []).toString('utf8')).receivedAt);
    const first = receivedAt(entries[0]);
    const last = receivedAt(entries[entries.length - 1]);
    for (const encoding of ['identity', 'gzip'] as const) {
      // Act
      const { built, reference } = await sealBothWays({
        head: emptyHead(ORIGIN),
        entries,
        firstReceivedAt: first,
        lastReceivedAt: last,
        sealedAt: last + 1000,
        encoding,
      });
      // Assess
      expect(Buffer.from(built).equals(Buffer.from(reference))).toBe(true);
      expect(verifyCodes(built, [key.trusted])).toEqual([]);
    }
  });

  it('returns the end of its one buffer, with only zero bytes before it', async () => {
    // Prepare
    const entries = sampleEntries(50);
    // Act
    const sealed = await sealSegment({
      head: emptyHead(ORIGIN),
      entries,
      firstReceivedAt: T0,
      lastReceivedAt: T0 + 49,
      sealedAt: T0 + 100,
      encoding: 'identity',
      signer: key.signer,
    });
    // Assess: the room kept for the head is what a longest (72-byte) signature needs, so what is
    // left over is a few base64 characters, and zero.
    const { bytes } = sealed;
    expect(bytes.byteOffset + bytes.length).toBe(bytes.buffer.byteLength);
    expect(bytes.byteOffset).toBeLessThanOrEqual(16);
    expect(new Uint8Array(bytes.buffer, 0, bytes.byteOffset).every((b) => b === 0)).toBe(true);
  });

  it('builds in a scratch buffer when it fits, the same bytes, and in a new one when it does not', async () => {
    const timeOf = (e: Uint8Array | undefined): number =>
      Date.parse(JSON.parse(Buffer.from(e ?? []).toString('utf8')).receivedAt);
    const input = (entries: Uint8Array[]): SealInput => ({
      head: emptyHead(ORIGIN),
      entries,
      firstReceivedAt: timeOf(entries[0]),
      lastReceivedAt: timeOf(entries[entries.length - 1]),
      sealedAt: timeOf(entries[entries.length - 1]) + 1000,
      encoding: 'identity',
      signer: key.signer,
    });
    const small = sampleEntries(20);
    const alone = await sealSegment(input(small));
    // Garbage in it from an earlier segment: every byte of the object is written anew.
    const scratch = new Uint8Array(alone.bytes.length + 4096).fill(0xa5);
    const inScratch = await sealSegment({ ...input(small), scratch });
    expect(inScratch.bytes.buffer).toBe(scratch.buffer);
    expect(verifyCodes(inScratch.bytes, [key.trusted])).toEqual([]);
    // ECDSA signatures differ from run to run: compare all but the signature line.
    const body = (b: Uint8Array) => Buffer.from(parseSegment(b).payload).toString('hex');
    expect(body(inScratch.bytes)).toBe(body(alone.bytes));
    const big = await sealSegment({ ...input(sampleEntries(200)), scratch });
    expect(big.bytes.buffer).not.toBe(scratch.buffer);
    expect(verifyCodes(big.bytes, [key.trusted])).toEqual([]);
  });

  it("keeps no reference to the caller's leaf hashes: the next segment seals after they are freed", async () => {
    // Prepare: entries with their leaf hashes in one buffer, as a parse thread hands them over.
    const timeOf = (e: Uint8Array): number =>
      Date.parse(JSON.parse(Buffer.from(e).toString('utf8')).receivedAt);
    const entries = sampleEntries(7);
    const leafBuffer = new Uint8Array(32 * entries.length);
    const leaves = entries.map((e, i) => {
      leafBuffer.set(hashLeaf(e), 32 * i);
      return leafBuffer.subarray(32 * i, 32 * (i + 1));
    });
    const at = (e: Uint8Array[]) => ({
      firstReceivedAt: timeOf(e[0] as Uint8Array),
      lastReceivedAt: timeOf(e[e.length - 1] as Uint8Array),
      sealedAt: timeOf(e[e.length - 1] as Uint8Array) + 1000,
      encoding: 'identity' as const,
      signer: key.signer,
    });
    const first = await sealSegment({ head: emptyHead(ORIGIN), entries, leaves, ...at(entries) });
    // Act: the caller frees the buffer (ingest does once the archiver releases it), then seals on.
    structuredClone(leafBuffer.buffer, { transfer: [leafBuffer.buffer] });
    expect(leaves[6]?.length).toBe(0);
    const more = sampleEntries(9).slice(7);
    const second = await sealSegment({ head: first.head, entries: more, ...at(more) });
    // Assess: the second segment continues the tree of all nine entries.
    const all = new CompactRange();
    for (const e of sampleEntries(9)) all.append(hashLeaf(e));
    expect(Buffer.from(second.root).toString('hex')).toBe(Buffer.from(all.root()).toString('hex'));
    expect(second.treeSize).toBe(9);
  });

  it('builds the same bytes from spans of batches as from one array per entry', async () => {
    await fc.assert(
      fc.asyncProperty(
        headArb,
        fc.array(fc.array(entryArb, { minLength: 1, maxLength: 12 }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.constantFrom<BodyEncoding>('identity', 'gzip'),
        fc.boolean(),
        fc.nat(),
        async (head, batches, encoding, withLeaves, cut) => {
          // Prepare: each batch in one buffer, a span of it taken (at least one entry), with or
          // without its leaf hashes; the array form holds the same entries one by one.
          const spans = batches.map((batch, n) => {
            const { bytes, ends } = joinItems(batch);
            const leaves = new Uint8Array(32 * batch.length);
            for (const [i, e] of batch.entries()) leaves.set(hashLeaf(e), 32 * i);
            const from = (cut + n) % batch.length;
            const to = from + 1 + ((cut >> 3) % (batch.length - from));
            return { bytes, ends, from, to, ...(withLeaves ? { leaves } : {}) };
          });
          const entries = batches.flatMap((b, n) =>
            b.slice((spans[n] as { from: number }).from, (spans[n] as { to: number }).to),
          );
          const times = { firstReceivedAt: T0, lastReceivedAt: T0, sealedAt: T0 + 1000, encoding };
          const signer = recording(key.signer);
          const one = await sealSegment({ head, entries, signer, ...times });
          const [signed] = signer.log;
          // Act
          const spanned = await sealSegment({
            head,
            entries: { spans },
            signer: replaying(key.signer, signed?.text ?? '', signed?.der ?? new Uint8Array()),
            ...times,
          });
          // Assess
          expect(Buffer.from(spanned.bytes).equals(Buffer.from(one.bytes))).toBe(true);
          expect(spanned.head.frontier.hashes()).toEqual(one.head.frontier.hashes());
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses a span outside its batch with a RangeError, before signing', async () => {
    const bytes = Uint8Array.of(0x7b, 0x7d);
    const signer = recording(key.signer);
    const input = (from: number, to: number) => ({
      head: emptyHead(ORIGIN),
      entries: { spans: [{ bytes, ends: Uint32Array.of(2), from, to }] },
      firstReceivedAt: T0,
      lastReceivedAt: T0,
      sealedAt: T0,
      encoding: 'identity' as const,
      signer,
    });
    await expect(sealSegment(input(0, 2))).rejects.toThrow(RangeError);
    await expect(sealSegment(input(1, 0))).rejects.toThrow(RangeError);
    await expect(sealSegment(input(-1, 1))).rejects.toThrow(RangeError);
    await expect(sealSegment(input(1, 1))).rejects.toMatchObject({ code: 'SEAL_EMPTY' });
    expect(signer.log).toEqual([]);
  });

  it('refuses to seal no entries with SEAL_EMPTY', async () => {
    const input = {
      head: emptyHead(ORIGIN),
      entries: [],
      firstReceivedAt: T0,
      lastReceivedAt: T0,
      sealedAt: T0,
      encoding: 'identity' as const,
      signer: key.signer,
    };
    await expect(sealSegment(input)).rejects.toMatchObject({ code: 'SEAL_EMPTY' });
  });
});
