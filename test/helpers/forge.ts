/**
 * Forging segments as a key holder could (a buggy or compromised writer): parse a real segment,
 * change chosen parts, recompute what the test says to recompute, re-sign. Used to prove the
 * verifier catches signed-but-inconsistent segments, one finding code at a time.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeBody, encodeBody, joinEntries, splitEntries } from '../../src/core/body-codec.js';
import { canonicalize } from '../../src/core/canonical-json.js';
import { CompactRange } from '../../src/core/compact-range.js';
import { fromBase64, toBase64, utf8 } from '../../src/core/encoding.js';
import { sha256 } from '../../src/core/hash.js';
import { hashLeaf } from '../../src/core/merkle.js';
import { type NoteSignature, signNoteText } from '../../src/core/note.js';
import type { Signer } from '../../src/core/ports.js';
import {
  assembleSegment,
  formatSegmentCheckpoint,
  parseSegment,
  type SegmentCheckpoint,
  type SegmentHeader,
} from '../../src/core/segment.js';

export type Forgery = {
  /** Replace the entries (the raw body lines). */
  entries?: (entries: Uint8Array[]) => Uint8Array[];
  /** Recompute root, frontierAfter, count and lengths from the (new) entries. Default true. */
  recomputeTree?: boolean;
  header?: (h: SegmentHeader) => Record<string, unknown>;
  checkpoint?: (cp: SegmentCheckpoint) => SegmentCheckpoint;
  /** Note text edit applied after formatting (for malformed checkpoints). */
  noteText?: (text: string) => string;
  /** Keep the old payload hash instead of recomputing it. */
  stalePayloadHash?: boolean;
  signers: Signer[];
  /**
   * Signature lines to store as they are, after those of `signers`: e.g. the original segment's,
   * copied onto changed note text by someone who holds no key.
   */
  copiedSignatures?: readonly NoteSignature[];
};

export async function forge(bytes: Uint8Array, f: Forgery): Promise<Uint8Array> {
  const seg = parseSegment(bytes);
  let header: SegmentHeader = seg.header;
  let cp: SegmentCheckpoint = seg.checkpoint;
  let raw = decodeBody(seg.body, header.encoding, header.rawLength);
  if (f.entries) {
    const entries = f.entries(splitEntries(raw).map((e) => Uint8Array.from(e)));
    raw = joinEntries(entries);
    if (f.recomputeTree ?? true) {
      const range = new CompactRange(header.firstIndex, header.frontierBefore.map(fromBase64));
      for (const e of entries) range.append(hashLeaf(e));
      header = { ...header, count: entries.length, frontierAfter: range.hashes().map(toBase64) };
      cp = { ...cp, root: range.root(), treeSize: range.size };
    }
  }
  const body = encodeBody(raw, header.encoding);
  header = { ...header, length: body.length, rawLength: raw.length };
  const headerJson = f.header ? f.header(header) : header;
  const head = utf8(`${canonicalize(headerJson)}\n`);
  const payload = new Uint8Array(head.length + body.length);
  payload.set(head, 0);
  payload.set(body, head.length);
  if (!f.stalePayloadHash) cp = { ...cp, payloadHash: sha256(payload) };
  if (f.checkpoint) cp = f.checkpoint(cp);
  let noteText = formatSegmentCheckpoint(cp);
  if (f.noteText) noteText = f.noteText(noteText);
  const signatures = [];
  for (const s of f.signers) signatures.push(await signNoteText(noteText, cp.origin, s));
  signatures.push(...(f.copiedSignatures ?? []));
  return assembleSegment(noteText, signatures, payload);
}

/**
 * Replaces the file behind `key` in a folder store rooted at `root`, as anyone with write access to
 * the folder can (the store's files are read-only, not immutable).
 */
export async function replaceStoredFile(
  root: string,
  key: string,
  bytes: Uint8Array,
): Promise<void> {
  const path = join(root, ...key.split('/'));
  await rm(path, { force: true });
  await writeFile(path, bytes);
}

/** Re-encodes an entry with changes, as canonical JSON. */
export function editEntry(
  entry: Uint8Array,
  edit: (e: Record<string, unknown>) => Record<string, unknown>,
): Uint8Array {
  return utf8(canonicalize(edit(JSON.parse(Buffer.from(entry).toString('utf8')))));
}
