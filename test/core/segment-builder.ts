/**
 * Builds segments for the core's parsing tests: a real one from the writer's own functions
 * (`sealSegment`), and re-signed variants whose header text, body bytes or signature lines are
 * chosen byte for byte. A variant is signed by the real key over a checkpoint that binds its
 * payload, so only the parser's byte-form rules can tell it from a genuine segment.
 */
import type { BodyEncoding } from '../../src/core/body-codec.js';
import { encodeEntry, makeEventEntry } from '../../src/core/entry.js';
import { sha256 } from '../../src/core/hash.js';
import { segmentKey } from '../../src/core/layout.js';
import { LogVerifier } from '../../src/core/log-verifier.js';
import {
  formatSignatureLine,
  type NoteSignature,
  signNoteText,
  type TrustedKey,
} from '../../src/core/note.js';
import { emptyHead, sealSegment } from '../../src/core/seal.js';
import {
  formatSegmentCheckpoint,
  type ParsedSegment,
  parseSegment,
  SEGMENT_MAGIC,
} from '../../src/core/segment.js';
import { makeKey, sampleEvent, type TestKey } from '../helpers/log-fixture.js';

export const ORIGIN = 'audit.example.com/test/core';
const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);

/** `n` canonical entry bytes, one millisecond apart. */
export function sampleEntries(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    encodeEntry(makeEventEntry(sampleEvent(i), T0 + i, { source: 'cli', id: `stdin:${i + 1}` })),
  );
}

/** Segment 0 of a log, sealed by the writer's code. */
export async function sealedSegment(
  key: TestKey = makeKey(),
  opts: {
    entries?: Uint8Array[];
    encoding?: BodyEncoding;
    /** Receive times of the first and last entry (ms); default those of {@link sampleEntries}. */
    firstReceivedAt?: number | undefined;
    lastReceivedAt?: number | undefined;
  } = {},
): Promise<{ bytes: Uint8Array; key: TestKey }> {
  const entries = opts.entries ?? sampleEntries(3);
  const sealed = await sealSegment({
    head: emptyHead(ORIGIN),
    entries,
    firstReceivedAt: opts.firstReceivedAt ?? T0,
    lastReceivedAt: opts.lastReceivedAt ?? T0 + entries.length - 1,
    sealedAt: T0 + 1000,
    encoding: opts.encoding ?? 'identity',
    signer: key.signer,
  });
  return { bytes: sealed.bytes, key };
}

export type Variant = {
  /** The header line without its `\n` (default: the stored one). */
  headerText?: string;
  /** Stored body bytes (default: the stored ones). */
  body?: Uint8Array;
  /** Signature lines in stored order, from the fresh signatures (default: them as they are). */
  signatureLines?: (sigs: NoteSignature[]) => string[];
  /** Further signers, besides the segment's key. */
  extraSigners?: TestKey[];
};

/**
 * Re-signs `seg` with `key` (and `extraSigners`) after replacing the chosen parts, joining the
 * parts by hand so that no writer code normalises them.
 */
export async function resign(
  seg: ParsedSegment,
  key: TestKey,
  v: Variant = {},
): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const headerEnd = seg.payload.indexOf(0x0a);
  const headerText = v.headerText ?? Buffer.from(seg.payload.subarray(0, headerEnd)).toString();
  const body = v.body ?? seg.body;
  const payload = concat(enc.encode(`${headerText}\n`), body);
  const noteText = formatSegmentCheckpoint({ ...seg.checkpoint, payloadHash: sha256(payload) });
  const sigs: NoteSignature[] = [];
  for (const k of [key, ...(v.extraSigners ?? [])])
    sigs.push(await signNoteText(noteText, seg.checkpoint.origin, k.signer));
  const lines = v.signatureLines ? v.signatureLines(sigs) : sigs.map(formatSignatureLine);
  const head = enc.encode(`${SEGMENT_MAGIC}${noteText}\n${lines.map((l) => `${l}\n`).join('')}\n`);
  return concat(head, payload);
}

/** The header line of a parsed segment, as stored. */
export function headerTextOf(seg: ParsedSegment): string {
  return Buffer.from(seg.payload.subarray(0, seg.payload.indexOf(0x0a))).toString();
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export { parseSegment };

/** The code of what `fn` throws, or `'(no error)'`. */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? `uncoded ${(err as Error).name}`;
  }
  return '(no error)';
}

/** Finding codes of a full verification of a one-segment log holding `bytes` as segment 0. */
export function verifyCodes(bytes: Uint8Array, trustedKeys: readonly TrustedKey[]): string[] {
  const codes: string[] = [];
  const verifier = new LogVerifier('main', { trustedKeys }, (f) => codes.push(f.code));
  verifier.addSegment(segmentKey('main', 0), 0, bytes);
  verifier.finish();
  return codes;
}
