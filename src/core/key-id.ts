/**
 * Signing-key identity in the C2SP signed-note format (https://c2sp.org/signed-note), signature
 * type 0x02: ECDSA, restricted here to NIST P-256 with SHA-256.
 *
 * - Key ID: "the truncated SHA-256 hash of the DER encoded public key in SPKI format", i.e. the
 *   first 4 bytes of SHA-256(SPKI), read as a big-endian uint32. Unlike Ed25519 (type 0x01), the
 *   key name is not hashed in.
 * - Verifier key ("vkey"): `<name>+<key ID as 8 lowercase hex digits>+<base64(0x02 || SPKI)>`, the
 *   form golang.org/x/mod/sumdb/note and transparency-dev/witness use.
 */
import { fromBase64, toBase64 } from './encoding.js';
import { ConfigurationError } from './errors.js';
import { bytesEqual, sha256 } from './hash.js';

/** c2sp.org/signed-note signature type byte for ECDSA. */
export const SIGNATURE_TYPE_ECDSA = 0x02;

/** Length in bytes of a signed-note key ID. */
export const KEY_ID_SIZE = 4;

/** A parsed verifier key. */
export type VerifierKey = {
  readonly name: string;
  /** 4 bytes, big-endian. */
  readonly keyId: Uint8Array;
  /** DER SubjectPublicKeyInfo of a P-256 key. */
  readonly spki: Uint8Array;
};

// OIDs as DER content bytes: 1.2.840.10045.2.1 (id-ecPublicKey, RFC 5480 §2.1.1) and
// 1.2.840.10045.3.1.7 (prime256v1 / secp256r1, RFC 5480 §2.1.1.1).
const OID_EC_PUBLIC_KEY = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);
const OID_PRIME256V1 = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
const TAG_SEQUENCE = 0x30;
const TAG_OID = 0x06;
const TAG_BIT_STRING = 0x03;
/** SEC 1 §2.3.3: 0x04 || X (32 bytes) || Y (32 bytes). */
const P256_POINT_SIZE = 65;

// Key names MUST be non-empty without Unicode spaces or "+" (signed-note §Format); notes MUST NOT
// contain control characters. Lone surrogates have no UTF-8 form.
const BAD_NAME_CHAR_RE = /[\s+\p{Cc}\p{Cs}]/u;
const VKEY_RE = /^([^+]*)\+([^+]*)\+(.*)$/s;
const HEX8_RE = /^[0-9a-f]{8}$/;

/**
 * Checks a signed-note key name: non-empty, no Unicode white space, `+` or control characters.
 * @throws ConfigurationError `KEY_NAME_INVALID`
 */
export function assertKeyName(name: string): void {
  if (typeof name !== 'string' || name === '' || BAD_NAME_CHAR_RE.test(name)) {
    throw new ConfigurationError(
      'KEY_NAME_INVALID',
      `key name ${JSON.stringify(name)} must be non-empty, without spaces, "+" or control characters`,
    );
  }
}

/**
 * Checks that `spki` is the DER SubjectPublicKeyInfo of an id-ecPublicKey on prime256v1 with an
 * uncompressed 65-byte point. It checks structure only, not that the point is on the curve.
 * @throws ConfigurationError `SPKI_INVALID` if the bytes are not a DER SPKI at all;
 *   `KEY_UNSUPPORTED` if they are one for another algorithm, curve or point encoding.
 */
export function assertP256Spki(spki: Uint8Array): void {
  const outer = readTlv(spki, 0, spki.length, TAG_SEQUENCE);
  if (outer.end !== spki.length) throw spkiInvalid('trailing bytes after the SPKI');
  const algorithm = readTlv(spki, outer.start, outer.end, TAG_SEQUENCE);
  const bitString = readTlv(spki, algorithm.end, outer.end, TAG_BIT_STRING);
  if (bitString.end !== outer.end) throw spkiInvalid('extra fields in the SPKI');
  const oid = readTlv(spki, algorithm.start, algorithm.end, TAG_OID);
  if (!bytesEqual(spki.subarray(oid.start, oid.end), OID_EC_PUBLIC_KEY)) {
    throw unsupported('the key is not an elliptic-curve key');
  }
  // RFC 5480 §2.1.1: for id-ecPublicKey the parameters are a namedCurve OID (explicit curve
  // parameters and implicitCA are not allowed).
  if (spki[oid.end] !== TAG_OID) throw unsupported('the curve is not given as a named curve');
  const curve = readTlv(spki, oid.end, algorithm.end, TAG_OID);
  if (curve.end !== algorithm.end) throw spkiInvalid('extra fields in the AlgorithmIdentifier');
  if (!bytesEqual(spki.subarray(curve.start, curve.end), OID_PRIME256V1)) {
    throw unsupported('the curve is not P-256');
  }
  // The first content byte of a BIT STRING counts unused bits; a public key has none.
  const point = spki.subarray(bitString.start, bitString.end);
  if (point[0] !== 0x00) throw spkiInvalid('BIT STRING with unused bits');
  if (point.length !== 1 + P256_POINT_SIZE || point[1] !== 0x04) {
    throw unsupported('the public key is not an uncompressed P-256 point');
  }
}

/**
 * The signed-note key ID for an ECDSA key: SHA-256(spki)[:4].
 * @throws ConfigurationError `SPKI_INVALID`, `KEY_UNSUPPORTED` (see {@link assertP256Spki}).
 */
export function ecdsaKeyId(spki: Uint8Array): Uint8Array {
  assertP256Spki(spki);
  return sha256(spki).slice(0, KEY_ID_SIZE);
}

/**
 * The verifier key line `<name>+<hex key ID>+<base64(0x02 || spki)>`.
 * @throws ConfigurationError `KEY_NAME_INVALID`, `SPKI_INVALID`, `KEY_UNSUPPORTED`.
 */
export function formatVerifierKey(name: string, spki: Uint8Array): string {
  assertKeyName(name);
  const id = ecdsaKeyId(spki);
  const typed = new Uint8Array(1 + spki.length);
  typed[0] = SIGNATURE_TYPE_ECDSA;
  typed.set(spki, 1);
  return `${name}+${toHex(id)}+${toBase64(typed)}`;
}

/**
 * Parses a verifier key line strictly: exactly three `+`-separated parts (the base64 may itself
 * contain `+`), a valid key name, 8 lowercase hex digits equal to the key's ID, canonical base64
 * of type byte 0x02 followed by a P-256 SPKI. No surrounding white space is allowed.
 * @throws ConfigurationError `VKEY_INVALID` for malformed text or a key ID that does not match;
 *   `KEY_UNSUPPORTED` for another signature type, algorithm or curve.
 */
export function parseVerifierKey(text: string): VerifierKey {
  const m = typeof text === 'string' ? VKEY_RE.exec(text) : null;
  if (m === null) throw vkeyInvalid('expected <name>+<key id>+<key>');
  const [, name = '', hexId = '', b64 = ''] = m;
  if (name === '' || BAD_NAME_CHAR_RE.test(name)) throw vkeyInvalid('bad key name');
  if (!HEX8_RE.test(hexId)) throw vkeyInvalid('key id must be 8 lowercase hex digits');
  let typed: Uint8Array;
  try {
    typed = fromBase64(b64);
  } catch (cause) {
    throw vkeyInvalid('key is not canonical base64', cause);
  }
  if (typed.length < 2) throw vkeyInvalid('key too short');
  if (typed[0] !== SIGNATURE_TYPE_ECDSA) {
    throw unsupported(`signature type 0x${typed[0]?.toString(16).padStart(2, '0')} is not ECDSA`);
  }
  const spki = typed.slice(1);
  let keyId: Uint8Array;
  try {
    keyId = ecdsaKeyId(spki);
  } catch (cause) {
    if (cause instanceof ConfigurationError && cause.code === 'SPKI_INVALID') {
      throw vkeyInvalid('key is not a DER SubjectPublicKeyInfo', cause);
    }
    throw cause;
  }
  if (toHex(keyId) !== hexId) {
    throw vkeyInvalid(`key id ${hexId} does not match the key's ${toHex(keyId)}`);
  }
  return { name, keyId, spki };
}

type Tlv = { readonly start: number; readonly end: number };

/**
 * Reads the DER TLV at `offset`, which must have tag `tag` and end by `limit`. Accepts definite,
 * minimally encoded lengths of up to 2 bytes, plenty for a public key.
 */
function readTlv(der: Uint8Array, offset: number, limit: number, tag: number): Tlv {
  if (offset + 2 > limit) throw spkiInvalid(`truncated at offset ${offset}`);
  if (der[offset] !== tag) {
    throw spkiInvalid(`expected DER tag 0x${tag.toString(16)} at offset ${offset}`);
  }
  const first = der[offset + 1] ?? 0;
  let length = first;
  let start = offset + 2;
  if (first === 0x81) {
    length = der[offset + 2] ?? 0;
    start = offset + 3;
    if (length < 0x80) throw spkiInvalid('non-minimal DER length');
  } else if (first === 0x82) {
    length = ((der[offset + 2] ?? 0) << 8) | (der[offset + 3] ?? 0);
    start = offset + 4;
    if (length < 0x100) throw spkiInvalid('non-minimal DER length');
  } else if (first >= 0x80) {
    throw spkiInvalid('unsupported DER length form');
  }
  const end = start + length;
  if (end > limit) throw spkiInvalid(`DER length at offset ${offset} runs past its container`);
  return { start, end };
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function spkiInvalid(detail: string): ConfigurationError<'SPKI_INVALID'> {
  return new ConfigurationError('SPKI_INVALID', `not a DER SubjectPublicKeyInfo: ${detail}`);
}

function unsupported(detail: string): ConfigurationError<'KEY_UNSUPPORTED'> {
  return new ConfigurationError(
    'KEY_UNSUPPORTED',
    `only ECDSA P-256 keys are supported: ${detail}`,
  );
}

function vkeyInvalid(detail: string, cause?: unknown): ConfigurationError<'VKEY_INVALID'> {
  return new ConfigurationError('VKEY_INVALID', `invalid verifier key: ${detail}`, { cause });
}
