/**
 * Known answer from a signer we did not write: a real checkpoint of the public Sigstore Rekor log
 * with Rekor's public key (test/vectors/third-party/SOURCE.md), checked by our signed-note code
 * and the one signature policy, as a type 0x02 (ECDSA P-256) signature.
 */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  encodeDerSignature,
  isCanonicalSignature,
  parseDerSignature,
} from '../../src/core/ecdsa.js';
import { ecdsaKeyId } from '../../src/core/key-id.js';
import {
  checkSignature,
  type NoteSignature,
  parseNote,
  type TrustedKey,
} from '../../src/core/note.js';
import { evaluateSignatures } from '../../src/core/signature-policy.js';

const dir = 'test/vectors/third-party';
const note = readFileSync(`${dir}/rekor-checkpoint.txt`, 'utf8');
const spki = new Uint8Array(
  createPublicKey(readFileSync(`${dir}/rekor.pub`, 'utf8')).export({ type: 'spki', format: 'der' }),
);
const KEY_NAME = 'rekor.sigstore.dev';
const rekor: TrustedKey = { spki, name: KEY_NAME, label: 'rekor.pub' };
/** P-256 group order (FIPS 186-4 D.1.2.3). */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function policy(text: string, signatures: readonly NoteSignature[], keys = [rekor]) {
  return evaluateSignatures({
    text,
    signatures,
    trustedKeys: keys,
    origin: text.slice(0, text.indexOf('\n')),
    sealedAt: 1_688_058_656_037, // the checkpoint's own Timestamp line, in ms
  });
}

describe('a Sigstore Rekor checkpoint (third-party known answer)', () => {
  it('parses, and its key hint is our type 0x02 key ID of Rekor key', () => {
    // Act
    const { text, signatures } = parseNote(note);
    // Assess
    expect(text.split('\n')[1]).toBe('21428036');
    expect(signatures).toHaveLength(1);
    expect(signatures[0]?.keyName).toBe(KEY_NAME);
    expect(hex(signatures[0]?.keyId ?? new Uint8Array())).toBe('c0d23d6a');
    expect(hex(ecdsaKeyId(spki))).toBe('c0d23d6a');
  });

  it('verifies with our note code and is accepted by the signature policy', () => {
    const { text, signatures } = parseNote(note);
    const sig = signatures[0] as NoteSignature;
    expect(isCanonicalSignature(sig.signature)).toBe(true); // low S: no normalisation needed
    expect(checkSignature(text, sig, [rekor])).toEqual({ status: 'valid', key: rekor });
    expect(policy(text, signatures)).toEqual({ accepted: true, signedBy: [rekor], problems: [] });
  });

  it('rejects the text changed by one byte, and the key trusted under another name', () => {
    const { text, signatures } = parseNote(note);
    const changed = text.replace('21428036', '21428037');
    expect(policy(changed, signatures).problems.map((p) => p.code)).toEqual(['SIGNATURE_INVALID']);
    // Without a name the key must sign under the origin, which Rekor does not: unknown key.
    const unnamed = { spki, label: 'rekor.pub' };
    expect(policy(text, signatures, [unnamed]).problems.map((p) => p.code)).toEqual([
      'SIGNATURE_UNTRUSTED',
    ]);
  });

  it('rejects its high-S twin (r, n - s), which node:crypto accepts', () => {
    // Prepare
    const { text, signatures } = parseNote(note);
    const sig = signatures[0] as NoteSignature;
    const { r, s } = parseDerSignature(sig.signature);
    const twin = encodeDerSignature({ r, s: N - s });
    const message = new TextEncoder().encode(text);
    expect(
      nodeVerify(
        'sha256',
        message,
        createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }),
        twin,
      ),
    ).toBe(true);
    // Act
    const verdict = policy(text, [{ ...sig, signature: twin }]);
    // Assess
    expect(verdict.accepted).toBe(false);
    expect(verdict.problems.map((p) => p.code)).toEqual(['SIGNATURE_INVALID']);
  });
});
