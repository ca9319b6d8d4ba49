/**
 * C2SP signed notes (https://c2sp.org/signed-note@v1.0.0) with ECDSA P-256 signatures
 * (signature type 0x02, as implemented by github.com/transparency-dev/witness).
 *
 * A note is UTF-8 text ending in a newline, a blank line, then one or more signature lines
 * `— <key name> <base64(4-byte key ID || signature)>`. The signature covers the text including its
 * final newline. For type 0x02 the key ID is SHA-256(DER SPKI)[:4] and the signature is DER
 * ECDSA over SHA-256(text); auditlock stores only canonical (strict DER, low-S) signatures.
 */
import { normalizeSignature, verifyEcdsaP256 } from './ecdsa.js';
import { fromBase64, toBase64, utf8 } from './encoding.js';
import { IntegrityError } from './errors.js';
import { bytesEqual } from './hash.js';
import { ecdsaKeyId } from './key-id.js';
import type { Signer } from './ports.js';

/** U+2014 EM DASH and a space: the start of every signature line. */
export const SIGNATURE_PREFIX = '\u2014 ';
/** Verifiers must accept at least 16 signatures (signed-note §Format); we accept no more. */
export const MAX_SIGNATURES = 16;

export type NoteSignature = {
  readonly keyName: string;
  /** 4-byte key ID (big-endian uint32). */
  readonly keyId: Uint8Array;
  /** Signature bytes after the key ID. */
  readonly signature: Uint8Array;
};

/** A public key the verifier trusts, with the window in which it may have signed. */
export type TrustedKey = {
  /** DER SubjectPublicKeyInfo (P-256). */
  readonly spki: Uint8Array;
  /** If set, only signature lines carrying this key name match (as in a vkey). */
  readonly name?: string | undefined;
  /** Earliest and latest seal time (ms) accepted for this key; open-ended when absent. */
  readonly notBefore?: number | undefined;
  readonly notAfter?: number | undefined;
  /** Label for reports, e.g. the file it came from. */
  readonly label?: string | undefined;
};

/**
 * A signed-note key name: non-empty, no whitespace (Unicode spaces included) and no `+`
 * (signed-note §Format). Control characters are excluded by the note-text rule.
 */
export const KEY_NAME_RE = /^[^\s+\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule forbids exactly these
const CONTROL_RE = /[\u0000-\u0009\u000b-\u001f]/;

/**
 * Checks that `text` is acceptable note text: non-empty, ends in a newline, no control characters
 * other than newline.
 * @throws IntegrityError `NOTE_MALFORMED`
 */
export function assertNoteText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n'))
    throw new IntegrityError('NOTE_MALFORMED', 'note text must be non-empty and end in a newline');
  if (CONTROL_RE.test(text))
    throw new IntegrityError('NOTE_MALFORMED', 'note text contains a control character');
}

/** Formats one signature line, without its trailing newline. */
export function formatSignatureLine(sig: NoteSignature): string {
  const blob = new Uint8Array(4 + sig.signature.length);
  blob.set(sig.keyId, 0);
  blob.set(sig.signature, 4);
  return `${SIGNATURE_PREFIX}${sig.keyName} ${toBase64(blob)}`;
}

/**
 * Parses one signature line (without newline).
 * @throws IntegrityError `NOTE_MALFORMED`
 */
export function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX))
    throw new IntegrityError('NOTE_MALFORMED', 'signature line does not start with an em dash');
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const keyName = space > 0 ? rest.slice(0, space) : '';
  if (!KEY_NAME_RE.test(keyName))
    throw new IntegrityError('NOTE_MALFORMED', 'signature line has an invalid key name');
  let blob: Uint8Array;
  try {
    blob = fromBase64(rest.slice(space + 1));
  } catch (cause) {
    throw new IntegrityError('NOTE_MALFORMED', 'signature is not canonical base64', { cause });
  }
  if (blob.length < 5) throw new IntegrityError('NOTE_MALFORMED', 'signature is too short');
  return { keyName, keyId: blob.subarray(0, 4), signature: blob.subarray(4) };
}

/**
 * The canonical order of signature lines (docs/FORMAT.md §4.2): ascending by key name as UTF-8
 * bytes, then by key ID bytes. Negative, zero or positive as `a` sorts before, with or after `b`;
 * zero means the two lines are for the same (key name, key ID), which a note may hold only once.
 * signed-note leaves the order open; fixing it gives every set of signatures one byte form.
 */
export function compareSignatures(a: NoteSignature, b: NoteSignature): number {
  return compareBytes(utf8(a.keyName), utf8(b.keyName)) || compareBytes(a.keyId, b.keyId);
}

/**
 * Why `signatures` are not in canonical order (strictly ascending by {@link compareSignatures}),
 * or undefined when they are. Every parser of signed notes applies this rule.
 */
export function signatureOrderProblem(signatures: readonly NoteSignature[]): string | undefined {
  for (let i = 1; i < signatures.length; i++) {
    const order = compareSignatures(
      signatures[i - 1] as NoteSignature,
      signatures[i] as NoteSignature,
    );
    if (order === 0) return `has two signature lines for ${signatures[i]?.keyName} with one key ID`;
    if (order > 0) return `has signature lines out of order at line ${i + 1}`;
  }
  return undefined;
}

/**
 * `signatures` in canonical order, for writers.
 * @throws IntegrityError `NOTE_MALFORMED` if two are for the same (key name, key ID).
 */
export function sortSignatures(signatures: readonly NoteSignature[]): NoteSignature[] {
  const sorted = [...signatures].sort(compareSignatures);
  const problem = signatureOrderProblem(sorted);
  if (problem) throw new IntegrityError('NOTE_MALFORMED', `note ${problem}`);
  return sorted;
}

/**
 * Formats a whole signed note: text, blank line, signature lines in canonical order.
 * @throws IntegrityError `NOTE_MALFORMED` for bad text or two signatures by one key.
 */
export function formatNote(text: string, signatures: readonly NoteSignature[]): string {
  assertNoteText(text);
  const lines = sortSignatures(signatures).map((s) => `${formatSignatureLine(s)}\n`);
  return `${text}\n${lines.join('')}`;
}

/**
 * Parses a standalone signed note. The text is separated from the signatures by the last blank
 * line (signed-note §Format); there are 1 to {@link MAX_SIGNATURES} signature lines, in canonical
 * order ({@link signatureOrderProblem}).
 * @throws IntegrityError `NOTE_MALFORMED`
 */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n'))
    throw new IntegrityError('NOTE_MALFORMED', 'note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  assertNoteText(text);
  // Bounded split: a hostile note with a million lines costs no more than one with 17.
  const lines = note.slice(split + 2, -1).split('\n', MAX_SIGNATURES + 1);
  if (lines.length > MAX_SIGNATURES)
    throw new IntegrityError('NOTE_MALFORMED', `note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map(parseSignatureLine);
  const problem = signatureOrderProblem(signatures);
  if (problem) throw new IntegrityError('NOTE_MALFORMED', `note ${problem}`);
  return { text, signatures };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/**
 * Signs note text with an ECDSA P-256 signer under `keyName`, returning a canonical signature.
 * @throws whatever the signer throws; IntegrityError `SIGNATURE_MALFORMED` if it returns non-DER.
 */
export async function signNoteText(
  text: string,
  keyName: string,
  signer: Signer,
): Promise<NoteSignature> {
  assertNoteText(text);
  const spki = await signer.publicKey();
  const der = await signer.sign(utf8(text));
  return { keyName, keyId: ecdsaKeyId(spki), signature: normalizeSignature(der) };
}

/** What one signature line amounts to against a set of trusted keys. */
export type SignatureCheck =
  | { readonly status: 'valid'; readonly key: TrustedKey }
  | { readonly status: 'invalid'; readonly key: TrustedKey }
  | { readonly status: 'unknown-key' };

/**
 * Checks one signature line: finds the trusted key with the same key ID and key name, and
 * verifies. For signature type 0x02 the key ID does not cover the name, so the name is matched
 * explicitly: a trusted key's own name (from a vkey) or else `defaultName` (auditlock signs under
 * the checkpoint origin, as tlog-checkpoint recommends). Validity windows are the caller's business.
 */
export function checkSignature(
  text: string,
  sig: NoteSignature,
  trusted: readonly TrustedKey[],
  defaultName?: string,
): SignatureCheck {
  const candidates = trusted.filter(
    (k) =>
      bytesEqual(ecdsaKeyId(k.spki), sig.keyId) &&
      (k.name ?? defaultName ?? sig.keyName) === sig.keyName,
  );
  if (candidates.length === 0) return { status: 'unknown-key' };
  const message = utf8(text);
  for (const key of candidates) {
    if (verifyEcdsaP256(key.spki, message, sig.signature)) return { status: 'valid', key };
  }
  return { status: 'invalid', key: candidates[0] as TrustedKey };
}
