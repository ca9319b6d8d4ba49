/**
 * parseSegment and its byte-form rules (docs/FORMAT.md §4): one stored form per segment. Each
 * variant below is signed by the real key over a checkpoint binding its payload, so only the
 * parser's rules can refuse it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/core/canonical-json.js';
import { sha256 } from '../../src/core/hash.js';
import { formatSignatureLine, type NoteSignature } from '../../src/core/note.js';
import {
  assembleSegment,
  encodePayload,
  formatSegmentCheckpoint,
  iterateSegmentEntries,
  MAX_SEGMENT_BYTES,
  type ParsedSegment,
  parseSegment,
  parseSegmentCheckpoint,
  SEGMENT_MAGIC,
  segmentEntries,
} from '../../src/core/segment.js';
import { makeKey, type TestKey } from '../helpers/log-fixture.js';
import {
  concat,
  headerTextOf,
  resign,
  sampleEntries,
  sealedSegment,
  thrownCode,
  verifyCodes,
} from './segment-builder.js';

let key: TestKey;
let other: TestKey;
let identity: Uint8Array;
let gzip: Uint8Array;
let seg: ParsedSegment;
let gzSeg: ParsedSegment;

beforeAll(async () => {
  key = makeKey('main');
  other = makeKey('second');
  identity = (await sealedSegment(key)).bytes;
  gzip = (await sealedSegment(key, { encoding: 'gzip', entries: sampleEntries(40) })).bytes;
  seg = parseSegment(identity);
  gzSeg = parseSegment(gzip);
});

describe('parseSegment on what the writer makes', () => {
  it('splits a segment into parts that reassemble to the same bytes', () => {
    // Prepare
    for (const bytes of [identity, gzip]) {
      // Act
      const p = parseSegment(bytes);
      const again = assembleSegment(p.noteText, p.signatures, encodePayload(p.header, p.body));
      // Assess
      expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
      expect(formatSegmentCheckpoint(p.checkpoint)).toBe(p.noteText);
      expect(p.hash).toEqual(sha256(bytes));
      expect(verifyCodes(bytes, [key.trusted])).toEqual([]);
    }
  });

  it('returns the entries the writer sealed', () => {
    expect(segmentEntries(gzSeg).map((e) => Buffer.from(e).toString())).toEqual(
      sampleEntries(40).map((e) => Buffer.from(e).toString()),
    );
  });

  it('rejects structure errors with SEGMENT_MALFORMED', () => {
    const enc = new TextEncoder();
    const text = Buffer.from(identity).toString('latin1');
    const cases: Uint8Array[] = [
      new Uint8Array(),
      identity.subarray(0, 10),
      enc.encode(`auditlock-segment v2\n${text.slice(SEGMENT_MAGIC.length)}`),
      identity.subarray(0, identity.indexOf(0x0a, SEGMENT_MAGIC.length + 1)),
      // no signature lines: the checkpoint's blank line is followed by another
      concat(enc.encode(`${SEGMENT_MAGIC}${seg.noteText}\n\n`), seg.payload),
      // body one byte longer than the header says
      concat(identity, Uint8Array.of(0x0a)),
      new Uint8Array(MAX_SEGMENT_BYTES + 1),
    ];
    for (const bytes of cases)
      expect(thrownCode(() => parseSegment(bytes))).toBe('SEGMENT_MALFORMED');
  });
});

describe('signature lines: at most one per (key name, key ID), in ascending order', () => {
  it('rejects a duplicated signature line (defect 4: no key needed)', async () => {
    // Prepare: the real segment with its one signature line copied.
    const bytes = await resign(seg, key, {
      signatureLines: (sigs) => {
        const line = formatSignatureLine(sigs[0] as NoteSignature);
        return [line, line];
      },
    });
    // Act / Assess
    expect(thrownCode(() => parseSegment(bytes))).toBe('SEGMENT_MALFORMED');
    expect(verifyCodes(bytes, [key.trusted])).toEqual(['SEGMENT_MALFORMED']);
  });

  it('rejects two valid signatures in the other order, accepts them in order', async () => {
    // Prepare: two signatures under one key name, so the order is that of their key IDs.
    const byKeyId = (sigs: NoteSignature[]) =>
      [...sigs].sort((a, b) => Buffer.compare(Buffer.from(a.keyId), Buffer.from(b.keyId)));
    const ordered = await resign(seg, key, {
      extraSigners: [other],
      signatureLines: (sigs) => byKeyId(sigs).map(formatSignatureLine),
    });
    const reversed = await resign(seg, key, {
      extraSigners: [other],
      signatureLines: (sigs) => byKeyId(sigs).reverse().map(formatSignatureLine),
    });
    const both = [key.trusted, other.trusted];
    // Act / Assess
    expect(parseSegment(ordered).signatures).toHaveLength(2);
    expect(verifyCodes(ordered, both)).toEqual([]);
    expect(thrownCode(() => parseSegment(reversed))).toBe('SEGMENT_MALFORMED');
    expect(verifyCodes(reversed, both)).toEqual(['SEGMENT_MALFORMED']);
  });

  it('assembleSegment writes signature lines in the canonical order', async () => {
    const ordered = parseSegment(
      await resign(seg, key, {
        extraSigners: [other],
        signatureLines: (sigs) =>
          [...sigs]
            .sort((a, b) => Buffer.compare(Buffer.from(a.keyId), Buffer.from(b.keyId)))
            .map(formatSignatureLine),
      }),
    );
    const out = assembleSegment(
      ordered.noteText,
      [...ordered.signatures].reverse(),
      ordered.payload,
    );
    expect(parseSegment(out).signatures.map(formatSignatureLine)).toEqual(
      ordered.signatures.map(formatSignatureLine),
    );
  });
});

describe('header: exactly the RFC 8785 canonical JSON of the parsed header', () => {
  const variants: [string, (h: string) => string][] = [
    [
      'members reordered',
      (h) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(h)).reverse())),
    ],
    ['a space after a colon', (h) => h.replace('"count":', '"count": ')],
    ['a trailing space', (h) => `${h} `],
    ['a leading space', (h) => ` ${h}`],
    ['a duplicate member', (h) => h.replace('{', '{"count":1,')],
    ['a \\u escape in a value', (h) => h.replace('"identity"', '"\\u0069dentity"')],
    ['a \\u escape in a name', (h) => h.replace('"count"', '"\\u0063ount"')],
    ['100.0 for an integer', (h) => h.replace(/"length":(\d+)/, '"length":$1.0')],
    ['an exponent', (h) => h.replace(/"firstIndex":0/, '"firstIndex":0e0')],
    ['a negative zero', (h) => h.replace(/"firstIndex":0/, '"firstIndex":-0')],
  ];

  it.each(variants)('rejects %s with HEADER_INVALID', async (_, edit) => {
    // Prepare
    const text = headerTextOf(seg);
    const changed = edit(text);
    expect(changed).not.toBe(text);
    expect(canonicalize(JSON.parse(changed))).toBe(canonicalize(JSON.parse(text)));
    const bytes = await resign(seg, key, { headerText: changed });
    // Act / Assess
    expect(thrownCode(() => parseSegment(bytes))).toBe('HEADER_INVALID');
    expect(verifyCodes(bytes, [key.trusted])).toEqual(['HEADER_INVALID']);
  });

  it('still rejects a header that fails the schema, and one that is not JSON', async () => {
    for (const text of ['{', '[]', headerTextOf(seg).replace('"count":3', '"count":0')]) {
      const bytes = await resign(seg, key, { headerText: text });
      expect(thrownCode(() => parseSegment(bytes))).toBe('HEADER_INVALID');
    }
  });
});

describe('gzip member header: exactly 1f 8b 08 00 00 00 00 00 00 ff', () => {
  const variants: [string, number, number][] = [
    ['MTIME', 4, 0x5e],
    ['MTIME (last byte)', 7, 0x01],
    ['XFL', 8, 0x02],
    ['OS', 9, 0x03],
    ['FLG.FTEXT', 3, 0x01],
  ];

  it.each(variants)('rejects a body with another %s byte (BODY_INVALID)', async (_, at, value) => {
    // Prepare: same deflate stream and trailer, one header byte changed, re-signed.
    const body = Uint8Array.from(gzSeg.body);
    body[at] = value;
    const bytes = await resign(gzSeg, key, { body });
    const p = parseSegment(bytes);
    // Act / Assess
    expect(thrownCode(() => segmentEntries(p))).toBe('BODY_INVALID');
    expect(verifyCodes(bytes, [key.trusted])).toEqual(['BODY_INVALID']);
  });
});

describe('segment checkpoint text and entries', () => {
  it('round-trips the checkpoint fields and refuses malformed extension lines', () => {
    const cp = parseSegmentCheckpoint(seg.noteText);
    expect(formatSegmentCheckpoint(cp)).toBe(seg.noteText);
    const lines = seg.noteText.split('\n');
    const edits: ((l: string[]) => string[])[] = [
      (l) => l.filter((_, i) => i !== 3), // no auditlock.segment line
      (l) => l.map((x, i) => (i === 3 ? 'auditlock.segment 01' : x)),
      (l) => l.map((x, i) => (i === 4 ? 'auditlock.prev AAAA' : x)),
      (l) => l.map((x, i) => (i === 5 ? 'auditlock.sealed 2026-11-26T08:00:01Z' : x)),
      (l) => [...l.slice(0, 3), l[4] as string, l[3] as string, ...l.slice(5)],
      (l) => [...l.slice(0, -1), 'auditlock.extra 1', ''],
    ];
    for (const edit of edits)
      expect(thrownCode(() => parseSegmentCheckpoint(edit(lines).join('\n')))).toBe(
        'CHECKPOINT_MALFORMED',
      );
  });

  it('checks the entry count before yielding any entry, for both accessors', async () => {
    // Prepare: an identity body of 4 entries under a header that says 3.
    const raw = concat(seg.body, new TextEncoder().encode('{}\n'));
    const header = { ...seg.header, length: raw.length, rawLength: raw.length };
    const p = parseSegment(await resign(seg, key, { headerText: canonicalize(header), body: raw }));
    // Act / Assess
    expect(thrownCode(() => segmentEntries(p))).toBe('BODY_INVALID');
    expect(thrownCode(() => iterateSegmentEntries(p))).toBe('BODY_INVALID');
    expect([...iterateSegmentEntries(seg)]).toEqual(segmentEntries(seg));
  });
});
