/**
 * A local Ed25519 witness key: generating it, writing it as files, loading it back, and an
 * {@link Ed25519Signer} over it (node:crypto, RFC 8032 pure Ed25519). For tests, offline use and
 * single-host witnesses; production witnesses SHOULD use the KMS signer.
 *
 * Files written by {@link writeWitnessKey} into a folder:
 * - `witness-key.pem`: PKCS#8 private key, mode 0600, never overwritten.
 * - `witness-key.pub.pem`: SPKI public key.
 * - `witness-key.vkey`: the cosigner vkey line (`name+keyid+base64(0x04 || key)`), for verifiers
 *   and for the logs that submit to this witness.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ED25519_SPKI_PREFIX, formatCosignerVkey } from '../core/cosignature.js';
import { ConfigurationError, StorageError } from '../core/errors.js';
import { bytesEqual } from '../core/hash.js';
import type { Ed25519Signer } from '../core/witness-signer.js';
import { syncDirectory } from './fsync.js';
import { writeExclusive } from './keys.js';

export const WITNESS_PRIVATE_KEY_FILE = 'witness-key.pem';
export const WITNESS_PUBLIC_KEY_FILE = 'witness-key.pub.pem';
export const WITNESS_VKEY_FILE = 'witness-key.vkey';

export type WrittenWitnessKey = {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly vkeyPath: string;
  readonly vkey: string;
};

/** Signs with an Ed25519 private key held in this process. */
export class LocalEd25519Signer implements Ed25519Signer {
  readonly description: string;
  readonly #key: KeyObject;
  readonly #publicKey: Uint8Array;

  private constructor(key: KeyObject, description: string) {
    this.#key = key;
    this.#publicKey = rawPublicKey(key);
    this.description = description;
  }

  /**
   * Loads an unencrypted PKCS#8 Ed25519 private key from a PEM file.
   * @throws ConfigurationError `KEY_NOT_FOUND`, `KEY_MALFORMED`, `KEY_UNSUPPORTED` (not Ed25519).
   */
  static async load(path: string): Promise<LocalEd25519Signer> {
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      throw new ConfigurationError(
        code === 'ENOENT' || code === 'ENOTDIR' ? 'KEY_NOT_FOUND' : 'KEY_MALFORMED',
        `cannot read witness key ${path}`,
        { cause },
      );
    }
    return LocalEd25519Signer.fromPem(pem, `local key ${path}`);
  }

  /**
   * From PEM text in memory.
   * @throws ConfigurationError `KEY_MALFORMED`, `KEY_UNSUPPORTED`.
   */
  static fromPem(pem: string, description = 'local Ed25519 key (PEM text)'): LocalEd25519Signer {
    if (!/-----BEGIN PRIVATE KEY-----/.test(pem))
      throw new ConfigurationError('KEY_MALFORMED', `${description}: expected a PKCS#8 PEM`);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (cause) {
      throw new ConfigurationError('KEY_MALFORMED', `${description}: unreadable private key`, {
        cause,
      });
    }
    if (key.asymmetricKeyType !== 'ed25519')
      throw new ConfigurationError(
        'KEY_UNSUPPORTED',
        `${description}: a witness key must be Ed25519, got ${key.asymmetricKeyType}`,
      );
    return new LocalEd25519Signer(key, description);
  }

  /** A fresh random key (tests, benchmarks). */
  static generate(): LocalEd25519Signer {
    return new LocalEd25519Signer(generateKeyPairSync('ed25519').privateKey, 'generated key');
  }

  /** The PKCS#8 PEM of the private key. */
  privateKeyPem(): string {
    return this.#key.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** The 32-byte RFC 8032 seed (for handing the same key to another implementation in tests). */
  seed(): Uint8Array {
    const der = this.#key.export({ type: 'pkcs8', format: 'der' });
    // RFC 8410 §7: the PKCS#8 of an Ed25519 key ends with OCTET STRING { OCTET STRING seed }.
    return new Uint8Array(der.subarray(der.length - 32));
  }

  async publicKey(): Promise<Uint8Array> {
    return this.#publicKey.slice();
  }

  /**
   * Pure Ed25519 signature of `message`.
   * @throws StorageError `SIGN_FAILED` (not retryable) if OpenSSL refuses.
   */
  async sign(message: Uint8Array): Promise<Uint8Array> {
    try {
      return new Uint8Array(sign(null, message, this.#key));
    } catch (cause) {
      throw new StorageError('SIGN_FAILED', `${this.description}: signing failed`, {
        retryable: false,
        cause,
      });
    }
  }
}

/**
 * Generates an Ed25519 witness key and writes the three files into `dir` (created 0700 if
 * missing). Each file is created exclusively and fsynced; if one already exists nothing is
 * overwritten and the files this call created are removed again.
 * @throws ConfigurationError `KEY_EXISTS`, `KEY_NAME_INVALID`, `KEY_WRITE_FAILED`.
 */
export async function writeWitnessKey(
  dir: string,
  name: string,
  signer: LocalEd25519Signer = LocalEd25519Signer.generate(),
): Promise<WrittenWitnessKey> {
  const publicKey = await signer.publicKey();
  const vkey = formatCosignerVkey(name, publicKey);
  const spki = Buffer.concat([ED25519_SPKI_PREFIX, publicKey]).toString('base64');
  const publicPem = `-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`;
  const files = [
    { path: join(dir, WITNESS_PRIVATE_KEY_FILE), text: signer.privateKeyPem(), mode: 0o600 },
    { path: join(dir, WITNESS_PUBLIC_KEY_FILE), text: publicPem, mode: 0o644 },
    { path: join(dir, WITNESS_VKEY_FILE), text: `${vkey}\n`, mode: 0o644 },
  ];
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((cause) => {
    throw new ConfigurationError('KEY_WRITE_FAILED', `cannot create ${dir}`, { cause });
  });
  const created: string[] = [];
  try {
    for (const f of files) {
      await writeExclusive(f.path, f.text, f.mode);
      created.push(f.path);
    }
    await syncDirectory(dir).catch((cause) => {
      throw new ConfigurationError('KEY_WRITE_FAILED', `cannot fsync ${dir}`, { cause });
    });
  } catch (err) {
    await Promise.all(created.map((p) => unlink(p).catch(() => undefined)));
    throw err;
  }
  const [priv, pub, vk] = files.map((f) => f.path) as [string, string, string];
  return { privateKeyPath: priv, publicKeyPath: pub, vkeyPath: vk, vkey };
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const spki = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  if (spki.length !== 44 || !bytesEqual(spki.subarray(0, 12), ED25519_SPKI_PREFIX))
    throw new ConfigurationError('KEY_UNSUPPORTED', 'not an Ed25519 public key');
  return spki.slice(12);
}
