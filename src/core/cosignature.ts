/**
 * C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), the Ed25519 `cosignature/v1` type: a
 * witness's statement that, as of a time, the checkpoint is the largest consistent tree head it
 * has seen for the log's origin.
 *
 * - A cosignature is a signed-note signature line `— <witness name> base64(key ID || sig)`.
 * - Key ID: SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 public key)[:4]. Unlike the
 *   log's type-0x02 key ID, it covers the name.
 * - `sig` is a `timestamped_signature`: an 8-byte big-endian POSIX timestamp (seconds, at most
 *   2^63 - 1) followed by the 64-byte Ed25519 signature (RFC 8032) of the message
 *   `cosignature/v1\ntime <timestamp>\n` || the whole checkpoint note text (extension lines
 *   included, signature lines excluded).
 * - Verifier key (vkey): `<name>+<key ID, 8 hex>+base64(0x04 || public key)`.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { fromBase64, toBase64, toHex, utf8 } from './encoding.js';
import { ConfigurationError, IntegrityError } from './errors.js';
import { bytesEqual, sha256 } from './hash.js';
import { assertKeyName, KEY_ID_SIZE } from './key-id.js';
import { assertNoteText, type NoteSignature } from './note.js';
import {
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SIGNATURE_SIZE,
  type Ed25519Signer,
} from './witness-signer.js';

/** c2sp.org/signed-note signature type of an Ed25519 `cosignature/v1` key. */
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;
/** Bytes after the key ID: timestamp (8) and Ed25519 signature (64). */
export const COSIGNATURE_SIZE = 8 + ED25519_SIGNATURE_SIZE;
/** tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1. */
const MAX_TIMESTAMP = 2n ** 63n - 1n;
/** RFC 8410 §4: DER SPKI of an Ed25519 key is this prefix and the 32 key bytes. */
export const ED25519_SPKI_PREFIX = Uint8Array.of(
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x03,
  0x21,
  0x00,
);

/** A witness public key as a verifier is configured with it: name, key and key ID. */
export type CosignerKey = {
  readonly name: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** 4-byte key ID, see the module comment. */
  readonly keyId: Uint8Array;
  /** For reports, e.g. the file the vkey came from. */
  readonly label?: string | undefined;
};

/** One cosignature line taken apart. */
export type Cosignature = {
  /** POSIX seconds. Timestamps above 2^53 - 1 are refused as malformed (year 285,000,000+). */
  readonly timestamp: number;
  readonly signature: Uint8Array;
};

/**
 * The key ID of an Ed25519 cosigner key: SHA-256(name || 0x0A || 0x04 || key)[:4].
 * @throws ConfigurationError `KEY_NAME_INVALID`, `KEY_UNSUPPORTED` (not 32 bytes).
 */
export function cosignerKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  assertKeyName(name);
  assertEd25519Key(publicKey);
  const nameBytes = utf8(name);
  const input = new Uint8Array(nameBytes.length + 2 + ED25519_PUBLIC_KEY_SIZE);
  input.set(nameBytes, 0);
  input[nameBytes.length] = 0x0a;
  input[nameBytes.length + 1] = SIGNATURE_TYPE_COSIGNATURE_V1;
  input.set(publicKey, nameBytes.length + 2);
  return sha256(input).slice(0, KEY_ID_SIZE);
}

/**
 * A {@link CosignerKey} from a name and a raw public key.
 * @throws ConfigurationError `KEY_NAME_INVALID`, `KEY_UNSUPPORTED`.
 */
export function cosignerKey(name: string, publicKey: Uint8Array, label?: string): CosignerKey {
  return { name, publicKey: publicKey.slice(), keyId: cosignerKeyId(name, publicKey), label };
}

/**
 * The vkey line of a cosigner key.
 * @throws ConfigurationError `KEY_NAME_INVALID`, `KEY_UNSUPPORTED`.
 */
export function formatCosignerVkey(name: string, publicKey: Uint8Array): string {
  const id = cosignerKeyId(name, publicKey);
  const typed = new Uint8Array(1 + ED25519_PUBLIC_KEY_SIZE);
  typed[0] = SIGNATURE_TYPE_COSIGNATURE_V1;
  typed.set(publicKey, 1);
  return `${name}+${toHex(id)}+${toBase64(typed)}`;
}

const VKEY_RE = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/;

/**
 * Parses a cosigner vkey strictly: three `+`-separated parts, a valid key name, the key ID in 8
 * lowercase hex digits equal to the computed one, canonical base64 of 0x04 || 32 bytes.
 * @throws ConfigurationError `VKEY_INVALID`; `KEY_UNSUPPORTED` for another signature type.
 */
export function parseCosignerVkey(text: string, label?: string): CosignerKey {
  const m = typeof text === 'string' ? VKEY_RE.exec(text) : null;
  if (m === null) throw vkeyInvalid('expected <name>+<8 hex digits>+<base64 key>');
  const [, name = '', hexId = '', b64 = ''] = m;
  try {
    assertKeyName(name);
  } catch (cause) {
    throw vkeyInvalid('bad key name', cause);
  }
  let typed: Uint8Array;
  try {
    typed = fromBase64(b64);
  } catch (cause) {
    throw vkeyInvalid('key is not canonical base64', cause);
  }
  if (typed[0] !== SIGNATURE_TYPE_COSIGNATURE_V1)
    throw new ConfigurationError(
      'KEY_UNSUPPORTED',
      `witness keys must be Ed25519 cosignature/v1 keys (type 0x04), got type 0x${(typed[0] ?? 0).toString(16).padStart(2, '0')}`,
    );
  if (typed.length !== 1 + ED25519_PUBLIC_KEY_SIZE) throw vkeyInvalid('key is not 32 bytes');
  const key = cosignerKey(name, typed.subarray(1), label);
  if (toHex(key.keyId) !== hexId)
    throw vkeyInvalid(`key ID ${hexId} does not match the key's ${toHex(key.keyId)}`);
  return key;
}

/**
 * The message a `cosignature/v1` signs: `cosignature/v1\ntime <T>\n` and the note text.
 * @throws IntegrityError `NOTE_MALFORMED` unless the text is note text of 3+ lines (a checkpoint);
 *   IntegrityError `COSIGNATURE_MALFORMED` for a timestamp that is not a safe non-negative integer.
 */
export function cosignedMessage(noteText: string, timestamp: number): Uint8Array {
  assertNoteText(noteText);
  if (noteText.split('\n').length < 4)
    throw new IntegrityError('NOTE_MALFORMED', 'a cosigned note must be a checkpoint (3+ lines)');
  assertTimestamp(timestamp);
  return utf8(`cosignature/v1\ntime ${timestamp}\n${noteText}`);
}

/**
 * Cosigns checkpoint note text at `timestamp` (POSIX seconds) under `key`'s name.
 * @throws IntegrityError `NOTE_MALFORMED`, `COSIGNATURE_MALFORMED` (bad timestamp),
 *   `SIGNATURE_INVALID` if the signer's public key is not `key` or its signature does not verify;
 *   whatever the signer throws.
 */
export async function cosign(
  noteText: string,
  key: CosignerKey,
  signer: Ed25519Signer,
  timestamp: number,
): Promise<NoteSignature> {
  const message = cosignedMessage(noteText, timestamp);
  if (!bytesEqual(await signer.publicKey(), key.publicKey))
    throw new IntegrityError(
      'SIGNATURE_INVALID',
      `${signer.description} does not hold the witness key ${key.name}`,
    );
  const signature = await signer.sign(message);
  const sig: NoteSignature = {
    keyName: key.name,
    keyId: key.keyId,
    signature: concat(encodeTimestamp(timestamp), signature),
  };
  // A signer that pre-hashes (KMS ED25519_PH_SHA_512) or returns garbage must never produce a
  // cosignature: check it like any verifier would.
  if (!verifyCosignature(noteText, sig, key))
    throw new IntegrityError(
      'SIGNATURE_INVALID',
      `${signer.description} returned a signature that does not verify (pre-hashed Ed25519?)`,
    );
  return sig;
}

/**
 * Splits a signature line's bytes into timestamp and Ed25519 signature.
 * @throws IntegrityError `COSIGNATURE_MALFORMED` unless exactly 72 bytes with a timestamp in
 *   [0, 2^53 - 1].
 */
export function readCosignature(sig: NoteSignature): Cosignature {
  if (sig.signature.length !== COSIGNATURE_SIZE)
    throw new IntegrityError(
      'COSIGNATURE_MALFORMED',
      `a cosignature/v1 is ${COSIGNATURE_SIZE} bytes after the key ID, got ${sig.signature.length}`,
    );
  let t = 0n;
  for (const b of sig.signature.subarray(0, 8)) t = (t << 8n) | BigInt(b);
  if (t > MAX_TIMESTAMP || t > BigInt(Number.MAX_SAFE_INTEGER))
    throw new IntegrityError('COSIGNATURE_MALFORMED', `cosignature timestamp ${t} is out of range`);
  return { timestamp: Number(t), signature: sig.signature.slice(8) };
}

/**
 * Whether `sig` is a valid cosignature by `key` on `noteText`: same key name and key ID, well
 * formed, and the Ed25519 signature verifies. Never throws for hostile input.
 */
export function verifyCosignature(noteText: string, sig: NoteSignature, key: CosignerKey): boolean {
  if (sig.keyName !== key.name || !bytesEqual(sig.keyId, key.keyId)) return false;
  try {
    const { timestamp, signature } = readCosignature(sig);
    return verify(null, cosignedMessage(noteText, timestamp), publicKeyObject(key), signature);
  } catch {
    return false;
  }
}

/** Lines of a note that name a configured cosigner (same key name and key ID). */
export function isFromCosigner(sig: NoteSignature, keys: readonly CosignerKey[]): boolean {
  return keys.some((k) => k.name === sig.keyName && bytesEqual(k.keyId, sig.keyId));
}

/** The node:crypto public key object of a cosigner key. */
function publicKeyObject(key: CosignerKey): KeyObject {
  return createPublicKey({
    key: Buffer.from(concat(ED25519_SPKI_PREFIX, key.publicKey)),
    format: 'der',
    type: 'spki',
  });
}

function assertEd25519Key(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_SIZE)
    throw new ConfigurationError(
      'KEY_UNSUPPORTED',
      `an Ed25519 public key is ${ED25519_PUBLIC_KEY_SIZE} bytes`,
    );
}

function assertTimestamp(t: number): void {
  if (!Number.isSafeInteger(t) || t < 0)
    throw new IntegrityError('COSIGNATURE_MALFORMED', `timestamp ${t} is not a POSIX time`);
}

function encodeTimestamp(t: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(t));
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function vkeyInvalid(detail: string, cause?: unknown): ConfigurationError<'VKEY_INVALID'> {
  return new ConfigurationError('VKEY_INVALID', `invalid witness vkey: ${detail}`, { cause });
}
