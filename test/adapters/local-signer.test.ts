import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  loadPublicKey,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  VKEY_FILE,
  writeKeyPair,
} from '../../src/adapters/keys.js';
import { LocalSigner } from '../../src/adapters/local-signer.js';
import { type AuditlockError, ConfigurationError } from '../../src/core/errors.js';
import { sha256 } from '../../src/core/hash.js';
import { ecdsaKeyId, parseVerifierKey } from '../../src/core/key-id.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => {
      expect(e).toBeInstanceOf(ConfigurationError);
      return (e as AuditlockError).code;
    },
  );
}

function verifyDer(spki: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return verify('sha256', message, { key, dsaEncoding: 'der' }, signature);
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auditlock-keys-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LocalSigner', () => {
  it('signs with DER ECDSA over SHA-256 that node:crypto verifies', async () => {
    // Prepare
    const pair = generateKeyPair();
    const signer = LocalSigner.fromPem(pair.privateKeyPem);
    const message = text('auditlock checkpoint\n42\n');
    // Act
    const signature = await signer.sign(message);
    // Assess
    expect(await signer.publicKey()).toEqual(pair.spki);
    expect(signature[0]).toBe(0x30); // ASN.1 SEQUENCE, not 64-byte P1363 r||s
    expect(verifyDer(pair.spki, message, signature)).toBe(true);
    expect(verifyDer(pair.spki, text('other message'), signature)).toBe(false);
  });

  it('loads from a file path and from PEM text, PKCS#8 or SEC 1', async () => {
    const pair = generateKeyPair();
    const path = join(dir, 'k.pem');
    await writeFile(path, pair.privateKeyPem);
    const fromPath = await LocalSigner.load(path);
    expect(fromPath.description).toContain(path);
    expect(await fromPath.publicKey()).toEqual(pair.spki);
    expect(await (await LocalSigner.load(pair.privateKeyPem)).publicKey()).toEqual(pair.spki);

    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    // As `openssl ecparam -name prime256v1 -genkey` writes it: parameters block first.
    const withParams = `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${sec1}`;
    for (const pem of [sec1, withParams]) {
      const signer = await LocalSigner.load(pem);
      expect(verifyDer(spki, text('m'), await signer.sign(text('m')))).toBe(true);
    }
  });

  it('returns a copy of the public key', async () => {
    const signer = LocalSigner.fromPem(generateKeyPair().privateKeyPem);
    const first = await signer.publicKey();
    first[0] = 0;
    expect((await signer.publicKey())[0]).toBe(0x30);
  });

  it('refuses keys that are not P-256 with KEY_UNSUPPORTED', async () => {
    const pems = [
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey,
      generateKeyPairSync('ed25519').privateKey,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
    ].map((k) => k.export({ type: 'pkcs8', format: 'pem' }).toString());
    for (const pem of pems) expect(await codeOf(LocalSigner.load(pem))).toBe('KEY_UNSUPPORTED');
  });

  it('refuses encrypted keys with KEY_UNSUPPORTED', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    expect(await codeOf(LocalSigner.load(pem))).toBe('KEY_UNSUPPORTED');
  });

  it('reports missing files and malformed PEM with codes', async () => {
    const pair = generateKeyPair();
    expect(await codeOf(LocalSigner.load(join(dir, 'missing.pem')))).toBe('KEY_NOT_FOUND');
    expect(await codeOf(LocalSigner.load(pair.publicKeyPem))).toBe('KEY_MALFORMED');
    const broken = pair.privateKeyPem.replace(/[A-Za-z]{8}/, 'AAAAAAAA');
    expect(await codeOf(LocalSigner.load(broken))).toBe('KEY_MALFORMED');
    await writeFile(join(dir, 'junk.pem'), 'not a key');
    expect(await codeOf(LocalSigner.load(join(dir, 'junk.pem')))).toBe('KEY_MALFORMED');
  });
});

describe('writeKeyPair', () => {
  it('writes the private key 0600, the public key and a vkey whose ID is SHA-256(SPKI)[:4]', async () => {
    // Act
    const written = await writeKeyPair(dir, { name: 'audit.example.com/prod' });
    // Assess
    expect(written.privateKeyPath).toBe(join(dir, PRIVATE_KEY_FILE));
    expect(written.vkeyPath).toBe(join(dir, VKEY_FILE));
    expect((await stat(written.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(written.publicKeyPath)).mode & 0o077 & ~0o044).toBe(0);
    expect(await readFile(written.vkeyPath, 'utf8')).toBe(`${written.vkey}\n`);

    const signer = await LocalSigner.load(written.privateKeyPath);
    const spki = await signer.publicKey();
    const parsed = parseVerifierKey(written.vkey);
    expect(parsed.name).toBe('audit.example.com/prod');
    expect(parsed.spki).toEqual(spki);
    expect(parsed.keyId).toEqual(sha256(spki).slice(0, 4));
    expect(ecdsaKeyId(spki)).toEqual(parsed.keyId);
    expect(written.vkey.split('+')[1]).toBe(Buffer.from(sha256(spki).slice(0, 4)).toString('hex'));
  });

  it('refuses to overwrite any existing key file and leaves the folder as it was', async () => {
    const first = await writeKeyPair(dir, { name: 'n' });
    const before = await readFile(first.privateKeyPath, 'utf8');
    expect(await codeOf(writeKeyPair(dir, { name: 'n' }))).toBe('KEY_EXISTS');
    expect(await readFile(first.privateKeyPath, 'utf8')).toBe(before);

    // Only the vkey exists: the call must fail and remove the two files it had created.
    const other = join(dir, 'other');
    await writeKeyPair(other, { name: 'n' });
    await rm(join(other, PRIVATE_KEY_FILE));
    await rm(join(other, PUBLIC_KEY_FILE));
    expect(await codeOf(writeKeyPair(other, { name: 'n' }))).toBe('KEY_EXISTS');
    await expect(stat(join(other, PRIVATE_KEY_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(other, PUBLIC_KEY_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates a missing folder and writes a given key pair', async () => {
    const pair = generateKeyPair();
    const written = await writeKeyPair(join(dir, 'a', 'b'), { name: 'n', keyPair: pair });
    expect(parseVerifierKey(written.vkey).spki).toEqual(pair.spki);
    expect((await stat(join(dir, 'a', 'b'))).isDirectory()).toBe(true);
  });

  it('refuses an invalid key name before writing anything', async () => {
    expect(await codeOf(writeKeyPair(dir, { name: 'has space' }))).toBe('KEY_NAME_INVALID');
    await expect(stat(join(dir, PRIVATE_KEY_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('loadPublicKey', () => {
  it('accepts SPKI PEM text, a vkey line, and files holding either', async () => {
    const written = await writeKeyPair(dir, { name: 'log.example/x' });
    const pem = await readFile(written.publicKeyPath, 'utf8');
    const { spki } = parseVerifierKey(written.vkey);

    expect(await loadPublicKey(pem)).toEqual({ spki });
    expect(await loadPublicKey(written.publicKeyPath)).toEqual({ spki });
    expect(await loadPublicKey(written.vkey)).toEqual({ spki, name: 'log.example/x' });
    expect(await loadPublicKey(written.vkeyPath)).toEqual({ spki, name: 'log.example/x' });
  });

  it('refuses other key types, private keys, bad vkeys and missing files with codes', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    expect(await codeOf(loadPublicKey(p384))).toBe('KEY_UNSUPPORTED');
    expect(await codeOf(loadPublicKey(generateKeyPair().privateKeyPem))).toBe('KEY_MALFORMED');
    const { vkey } = await writeKeyPair(dir, { name: 'n' });
    const wrongId = vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
    expect(await codeOf(loadPublicKey(wrongId))).toBe('VKEY_INVALID');
    expect(await codeOf(loadPublicKey(join(dir, 'nope.pub')))).toBe('KEY_NOT_FOUND');
  });
});
