/**
 * Local signing-key files: generating a P-256 key pair, writing it as PEM plus a verifier-key
 * line, and loading keys back from files or text. The pure identity rules live in
 * `src/core/key-id.ts`; this module adds `node:crypto` parsing and file I/O.
 *
 * Files written by {@link writeKeyPair} into a folder:
 * - `signing-key.pem`: PKCS#8 private key, mode 0600, never overwritten.
 * - `signing-key.pub.pem`: SPKI public key.
 * - `signing-key.vkey`: the C2SP verifier key line, to hand to verifiers.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../core/errors.js';
import { assertP256Spki, formatVerifierKey, parseVerifierKey } from '../core/key-id.js';
import { syncDirectory } from './fsync.js';

export const PRIVATE_KEY_FILE = 'signing-key.pem';
export const PUBLIC_KEY_FILE = 'signing-key.pub.pem';
export const VKEY_FILE = 'signing-key.vkey';

/** A P-256 key pair as PEM text, with the DER SPKI of the public half. */
export type KeyPairPem = {
  /** PKCS#8 PEM, unencrypted. */
  readonly privateKeyPem: string;
  /** SPKI PEM. */
  readonly publicKeyPem: string;
  readonly spki: Uint8Array;
};

/** Paths and vkey produced by {@link writeKeyPair}. */
export type WrittenKeyPair = {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly vkeyPath: string;
  readonly vkey: string;
};

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----/;
const PEM_ALL_RE = /-----BEGIN ([A-Z0-9 ]+)-----/g;
// A vkey line on its own; paths practically never look like this (name+8 hex+base64 of 0x02…).
const VKEY_LINE_RE = /^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/;

/** Generates a fresh ECDSA P-256 key pair. */
export function generateKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    spki: spkiOf(publicKey),
  };
}

/**
 * Writes `signing-key.pem` (0600), `signing-key.pub.pem` and `signing-key.vkey` into `dir`
 * (created 0700 if missing). Each file is created exclusively and fsynced; if any of them already
 * exists nothing is overwritten and the files this call created are removed again.
 * @param options.name signed-note key name for the vkey, e.g. `audit.example.com/prod`.
 * @param options.keyPair the pair to write; a new one is generated when omitted.
 * @throws ConfigurationError `KEY_EXISTS` if a key file is already there; `KEY_NAME_INVALID`;
 *   `KEY_WRITE_FAILED` if a file cannot be created or written (the cause says why).
 */
export async function writeKeyPair(
  dir: string,
  options: { name: string; keyPair?: KeyPairPem },
): Promise<WrittenKeyPair> {
  const pair = options.keyPair ?? generateKeyPair();
  const vkey = formatVerifierKey(options.name, pair.spki);
  const files = [
    { path: join(dir, PRIVATE_KEY_FILE), text: pair.privateKeyPem, mode: 0o600 },
    { path: join(dir, PUBLIC_KEY_FILE), text: pair.publicKeyPem, mode: 0o644 },
    { path: join(dir, VKEY_FILE), text: `${vkey}\n`, mode: 0o644 },
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
    await syncDir(dir);
  } catch (err) {
    await Promise.all(created.map((p) => unlink(p).catch(() => undefined)));
    throw err;
  }
  const [priv, pub, vk] = files.map((f) => f.path) as [string, string, string];
  return { privateKeyPath: priv, publicKeyPath: pub, vkeyPath: vk, vkey };
}

/**
 * Loads a P-256 public key from SPKI PEM text, a vkey line, or a file holding either.
 * Returns the DER SPKI, and the key name when it came from a vkey.
 * @throws ConfigurationError `KEY_NOT_FOUND` (no such file), `KEY_MALFORMED` (not a public-key
 *   PEM), `KEY_UNSUPPORTED` (not P-256), `VKEY_INVALID`.
 */
export async function loadPublicKey(
  pathOrPem: string,
): Promise<{ spki: Uint8Array; name?: string }> {
  const text = looksLikeKeyText(pathOrPem) ? pathOrPem : await readKeyFile(pathOrPem);
  const trimmed = text.trim();
  if (!PEM_RE.test(trimmed)) {
    const { name, spki } = parseVerifierKey(trimmed);
    return { spki, name };
  }
  if (PEM_RE.exec(trimmed)?.[1] !== 'PUBLIC KEY') {
    throw new ConfigurationError('KEY_MALFORMED', 'expected a "PUBLIC KEY" (SPKI) PEM');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: trimmed, format: 'pem' });
  } catch (cause) {
    throw new ConfigurationError('KEY_MALFORMED', 'unreadable public key PEM', { cause });
  }
  const spki = spkiOf(key);
  assertP256Spki(spki);
  return { spki };
}

/**
 * Loads an unencrypted P-256 private key from PEM text (PKCS#8, or SEC 1 `EC PRIVATE KEY`) or
 * from a file holding it. `source` describes where it came from, for messages.
 * @throws ConfigurationError `KEY_NOT_FOUND`, `KEY_MALFORMED`, `KEY_UNSUPPORTED` (another
 *   algorithm or curve, or an encrypted key).
 */
export async function loadPrivateKey(
  pathOrPem: string,
): Promise<{ key: KeyObject; source: string }> {
  const isText = looksLikeKeyText(pathOrPem);
  const pem = isText ? pathOrPem : await readKeyFile(pathOrPem);
  const source = isText ? 'PEM text' : pathOrPem;
  return { key: parsePrivateKeyPem(pem, source), source };
}

/**
 * Parses PEM text into a P-256 private key.
 * @throws ConfigurationError `KEY_MALFORMED`, `KEY_UNSUPPORTED`.
 */
export function parsePrivateKeyPem(pem: string, source = 'PEM text'): KeyObject {
  // `openssl ecparam -genkey` puts an `EC PARAMETERS` block before the key; OpenSSL skips it.
  const labels = [...pem.matchAll(PEM_ALL_RE)].map((m) => m[1]);
  if (labels.includes('ENCRYPTED PRIVATE KEY')) {
    throw new ConfigurationError(
      'KEY_UNSUPPORTED',
      `${source}: encrypted private keys are not supported`,
    );
  }
  if (!labels.includes('PRIVATE KEY') && !labels.includes('EC PRIVATE KEY')) {
    throw new ConfigurationError('KEY_MALFORMED', `${source}: expected a "PRIVATE KEY" PEM`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new ConfigurationError('KEY_MALFORMED', `${source}: unreadable private key PEM`, {
      cause,
    });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ConfigurationError(
      'KEY_UNSUPPORTED',
      `${source}: only ECDSA P-256 keys are supported, got ${describeKey(key)}`,
    );
  }
  return key;
}

/** The DER SPKI of a public (or the public half of a private) key object. */
export function spkiOf(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return new Uint8Array(der.buffer, der.byteOffset, der.byteLength);
}

function looksLikeKeyText(s: string): boolean {
  return PEM_RE.test(s) || VKEY_LINE_RE.test(s.trim());
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ConfigurationError('KEY_NOT_FOUND', `no key file at ${path}`, { cause });
    }
    throw new ConfigurationError('KEY_MALFORMED', `cannot read key file ${path}`, { cause });
  }
}

/**
 * Creates `path` holding `text` with `mode`, never overwriting, and fsyncs it (key files of every
 * kind: signing keys and witness keys).
 * @throws ConfigurationError `KEY_EXISTS` if the file exists, `KEY_WRITE_FAILED` otherwise.
 */
export async function writeExclusive(path: string, text: string, mode: number): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'wx', mode);
  } catch (cause) {
    if ((cause as { code?: string }).code === 'EEXIST') {
      throw new ConfigurationError('KEY_EXISTS', `${path} already exists; refusing to overwrite`, {
        cause,
      });
    }
    throw new ConfigurationError('KEY_WRITE_FAILED', `cannot create ${path}`, { cause });
  }
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (cause) {
    throw new ConfigurationError('KEY_WRITE_FAILED', `cannot write ${path}`, { cause });
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  await syncDirectory(dir).catch((cause) => {
    throw new ConfigurationError('KEY_WRITE_FAILED', `cannot fsync ${dir}`, { cause });
  });
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? String(key.asymmetricKeyType) : `${key.asymmetricKeyType} ${curve}`;
}
