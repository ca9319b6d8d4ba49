/**
 * ECDSA P-256 signatures in their one canonical form: strict ASN.1 DER (X9.62 `ECDSA-Sig-Value`)
 * with a low S value (s <= n/2).
 *
 * ECDSA signatures are malleable: if (r, s) verifies, so does (r, n - s), and lax DER parsers
 * accept several encodings of one pair. A tamper-evident archive must notice any changed byte, so
 * writers normalise every signature with {@link normalizeSignature} before storing it and
 * verifiers accept only the canonical form. KMS and OpenSSL return either S; normalising does not
 * need the private key.
 */
import { createPublicKey, type KeyObject, verify as nodeVerify } from 'node:crypto';
import { IntegrityError } from './errors.js';

/** Order of the P-256 base point (FIPS 186-4 D.1.2.3). */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_N = N >> 1n;

export type SignatureParts = { readonly r: bigint; readonly s: bigint };

/**
 * Parses a strict DER ECDSA-Sig-Value.
 * @throws IntegrityError `SIGNATURE_MALFORMED` on any non-DER or out-of-range encoding.
 */
export function parseDerSignature(der: Uint8Array): SignatureParts {
  const fail = (why: string): never => {
    throw new IntegrityError('SIGNATURE_MALFORMED', `ECDSA signature is not strict DER: ${why}`);
  };
  // A P-256 signature is at most 72 bytes, so every length is in DER's short form.
  if (der.length < 8 || der.length > 72) fail(`length ${der.length}`);
  if (der[0] !== 0x30 || der[1] !== der.length - 2) fail('bad SEQUENCE header');
  let pos = 2;
  const readInt = (): bigint => {
    if (der[pos] !== 0x02) fail('expected INTEGER');
    const len = der[pos + 1] ?? 0;
    const start = pos + 2;
    if (len < 1 || len > 33 || start + len > der.length) fail('bad INTEGER length');
    const first = der[start] ?? 0;
    if (first & 0x80) fail('negative INTEGER');
    if (first === 0 && len > 1 && ((der[start + 1] ?? 0) & 0x80) === 0) fail('non-minimal INTEGER');
    let v = 0n;
    for (let i = start; i < start + len; i++) v = (v << 8n) | BigInt(der[i] ?? 0);
    pos = start + len;
    return v;
  };
  const r = readInt();
  const s = readInt();
  if (pos !== der.length) fail('trailing bytes');
  if (r < 1n || r >= N || s < 1n || s >= N) fail('r or s out of range');
  return { r, s };
}

/** Encodes (r, s) as minimal DER. */
export function encodeDerSignature({ r, s }: SignatureParts): Uint8Array {
  const int = (v: bigint): number[] => {
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    const bytes = hex.match(/../g)?.map((h) => Number.parseInt(h, 16)) ?? [0];
    if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
    return [0x02, bytes.length, ...bytes];
  };
  const body = [...int(r), ...int(s)];
  return Uint8Array.from([0x30, body.length, ...body]);
}

/**
 * Returns the canonical (strict DER, low-S) form of a valid DER signature.
 * @throws IntegrityError `SIGNATURE_MALFORMED` if `der` is not a DER ECDSA signature.
 */
export function normalizeSignature(der: Uint8Array): Uint8Array {
  const { r, s } = parseDerSignature(der);
  return encodeDerSignature({ r, s: s > HALF_N ? N - s : s });
}

/** Whether `der` is already in canonical form (strict DER and low S). */
export function isCanonicalSignature(der: Uint8Array): boolean {
  try {
    return parseDerSignature(der).s <= HALF_N;
  } catch {
    return false;
  }
}

const keyCache = new Map<string, KeyObject>();

function publicKeyObject(spki: Uint8Array): KeyObject {
  const id = Buffer.from(spki).toString('base64');
  let key = keyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    if (keyCache.size > 256) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/**
 * Verifies a canonical ECDSA P-256 / SHA-256 signature over `message`. Non-canonical encodings
 * (high S, lax DER) are rejected even if mathematically valid.
 */
export function verifyEcdsaP256(spki: Uint8Array, message: Uint8Array, der: Uint8Array): boolean {
  if (!isCanonicalSignature(der)) return false;
  try {
    return nodeVerify('sha256', message, publicKeyObject(spki), der);
  } catch {
    return false;
  }
}
