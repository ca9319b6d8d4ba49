/**
 * The one rule for accepting a signed checkpoint, used everywhere a signature decides something:
 * the segment verifier, trusted-checkpoint loading, `verify-proof`, and the writer's check of the
 * head it is about to extend (docs/FORMAT.md §4.2).
 *
 * A checkpoint is accepted when at least one of its signature lines is a valid signature by a
 * trusted key whose validity window contains the checkpoint's seal time. Every other signature
 * line is classified, so callers can report exactly what is wrong:
 * - `SIGNATURE_INVALID`: the line names a trusted key (key ID and name) but does not verify;
 * - `KEY_NOT_VALID_AT_SEAL_TIME`: a valid signature by a trusted key outside its window;
 * - `SIGNATURE_UNEXPECTED`: a line from an unknown key beside an accepted signature;
 * - `SIGNATURE_UNTRUSTED`: no line is from a trusted key at all.
 * The checkpoint is accepted only when no problem is reported.
 */
import { toHex } from './encoding.js';
import { ecdsaKeyId } from './key-id.js';
import { checkSignature, type NoteSignature, type TrustedKey } from './note.js';

export const SIGNATURE_PROBLEM_CODES = [
  'SIGNATURE_INVALID',
  'SIGNATURE_UNTRUSTED',
  'SIGNATURE_UNEXPECTED',
  'KEY_NOT_VALID_AT_SEAL_TIME',
] as const;
export type SignatureProblemCode = (typeof SIGNATURE_PROBLEM_CODES)[number];

export type SignatureProblem = { readonly code: SignatureProblemCode; readonly detail: string };

export type SignatureVerdict = {
  /** True when a trusted key, valid at `sealedAt`, signed, and no problem was found. */
  readonly accepted: boolean;
  /** Trusted keys whose valid signatures were accepted. */
  readonly signedBy: readonly TrustedKey[];
  readonly problems: readonly SignatureProblem[];
};

export type SignaturePolicyInput = {
  /** The signed note text (ends in `\n`). */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
  readonly trustedKeys: readonly TrustedKey[];
  /** The checkpoint origin: the key name expected when a trusted key has no name of its own. */
  readonly origin: string;
  /** Seal time (ms) the validity windows are checked against. */
  readonly sealedAt: number;
};

/** Whether `key`'s validity window contains `at` (ms). Open ends are unbounded. */
export function keyValidAt(key: TrustedKey, at: number): boolean {
  return (
    (key.notBefore === undefined || at >= key.notBefore) &&
    (key.notAfter === undefined || at <= key.notAfter)
  );
}

/** Applies the signature policy to one signed checkpoint. Never throws for hostile input. */
export function evaluateSignatures(input: SignaturePolicyInput): SignatureVerdict {
  const problems: SignatureProblem[] = [];
  const signedBy: TrustedKey[] = [];
  const unknown: NoteSignature[] = [];
  for (const sig of input.signatures) {
    const check = checkSignature(input.text, sig, input.trustedKeys, input.origin);
    if (check.status === 'unknown-key') unknown.push(sig);
    else if (check.status === 'invalid')
      problems.push({
        code: 'SIGNATURE_INVALID',
        detail: `signature by ${describeLine(sig)} does not verify`,
      });
    else if (!keyValidAt(check.key, input.sealedAt))
      problems.push({
        code: 'KEY_NOT_VALID_AT_SEAL_TIME',
        detail: `key ${describeKey(check.key)} is not valid at ${new Date(input.sealedAt).toISOString()}${windowText(check.key)}`,
      });
    else signedBy.push(check.key);
  }
  const trustedLines = input.signatures.length - unknown.length;
  if (unknown.length > 0 && trustedLines === 0)
    problems.push({
      code: 'SIGNATURE_UNTRUSTED',
      detail: `signed only by unknown key(s): ${unknown.map(describeLine).join(', ')}${nameHint(input)}; trusted: ${input.trustedKeys.map(describeKey).join(', ') || '(none)'}`,
    });
  else if (unknown.length > 0)
    problems.push({
      code: 'SIGNATURE_UNEXPECTED',
      detail: `${unknown.length} signature line(s) from unknown keys: ${unknown.map(describeLine).join(', ')}`,
    });
  return { accepted: signedBy.length > 0 && problems.length === 0, signedBy, problems };
}

/** `name+keyid` of a signature line, as in a vkey. */
export function describeLine(sig: NoteSignature): string {
  return `${sig.keyName}+${toHex(sig.keyId)}`;
}

/** A trusted key for messages: its label or name, and its key ID. */
export function describeKey(key: TrustedKey): string {
  const id = toHex(ecdsaKeyId(key.spki));
  return key.label ? `${key.label} (${id})` : `${key.name ?? '(origin)'}+${id}`;
}

function windowText(key: TrustedKey): string {
  const from = key.notBefore === undefined ? '-∞' : new Date(key.notBefore).toISOString();
  const to = key.notAfter === undefined ? '∞' : new Date(key.notAfter).toISOString();
  return ` (window ${from} .. ${to})`;
}

/** Explains the common mistake of a vkey whose name is not the log's origin. */
function nameHint(input: SignaturePolicyInput): string {
  for (const sig of input.signatures)
    for (const k of input.trustedKeys) {
      const id = ecdsaKeyId(k.spki);
      if (k.name !== undefined && k.name !== sig.keyName && id.every((b, i) => b === sig.keyId[i]))
        return `; a trusted key with this key ID is named ${JSON.stringify(k.name)}, but the line is signed under ${JSON.stringify(sig.keyName)} (auditlock signs under the origin: use the PEM public key, or a vkey with that name)`;
    }
  return '';
}
