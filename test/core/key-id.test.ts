import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../src/core/encoding.js';
import { type AuditlockError, ConfigurationError } from '../../src/core/errors.js';
import { sha256 } from '../../src/core/hash.js';
import {
  assertKeyName,
  assertP256Spki,
  ecdsaKeyId,
  formatVerifierKey,
  parseVerifierKey,
  SIGNATURE_TYPE_ECDSA,
} from '../../src/core/key-id.js';

/**
 * Real type-0x02 verifier keys, copied from github.com/transparency-dev/witness
 * `omniwitness/logs.yaml` (commit 2dc15f04c9db02d4f141ff83e7f77a177e5e614f). Rekor's key ID
 * c0d23d6a is also the start of its published RFC 6962 log ID
 * c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d = SHA-256(SPKI).
 */
const REKOR_VKEY =
  'rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=';
const PIXEL_VKEY =
  'pixel_transparency_log+72c878db+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFPN7lzVIk2BOd3Nk33VpqqVttGwV8uChH+RX/HVfBiypVQFyh8o8Ny6fSdxNMgkSf9/VynrgADBeys0r4Q9uPA=';
/** An Ed25519 (type 0x01) vkey from the same file: well-formed, but not a type we support. */
const SUMDB_VKEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';

function spkiOf(kind: 'P-256' | 'P-384' | 'ed25519' | 'rsa'): Uint8Array {
  const pair =
    kind === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : kind === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 1024 })
        : generateKeyPairSync('ec', { namedCurve: kind });
  return new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as AuditlockError).code;
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('known verifier keys', () => {
  it.each([
    ['rekor.sigstore.dev', 'c0d23d6a', REKOR_VKEY],
    ['pixel_transparency_log', '72c878db', PIXEL_VKEY],
  ])('parses %s (key id %s) and formats it back byte for byte', (name, id, vkey) => {
    const parsed = parseVerifierKey(vkey);
    expect(parsed.name).toBe(name);
    expect(hex(parsed.keyId)).toBe(id);
    expect(parsed.spki).toHaveLength(91);
    expect(hex(ecdsaKeyId(parsed.spki))).toBe(id);
    expect(formatVerifierKey(name, parsed.spki)).toBe(vkey);
  });

  it('the key ID is the first 4 bytes of SHA-256 over the DER SPKI', () => {
    const { spki } = parseVerifierKey(REKOR_VKEY);
    expect(hex(sha256(spki))).toBe(
      'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d',
    );
  });

  it('rejects an Ed25519 (type 0x01) vkey as unsupported', () => {
    expect(codeOf(() => parseVerifierKey(SUMDB_VKEY))).toBe('KEY_UNSUPPORTED');
  });
});

describe('formatVerifierKey / parseVerifierKey', () => {
  const name = fc
    .string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
    .filter((s) => !/[\s+\p{Cc}\p{Cs}]/u.test(s));

  it('round-trips any valid name with a fresh P-256 key', () => {
    const spki = spkiOf('P-256');
    fc.assert(
      fc.property(name, (n) => {
        const vkey = formatVerifierKey(n, spki);
        const parsed = parseVerifierKey(vkey);
        expect(parsed.name).toBe(n);
        expect(parsed.spki).toEqual(spki);
        expect(parsed.keyId).toEqual(sha256(spki).slice(0, 4));
        expect(vkey.split('+')[1]).toMatch(/^[0-9a-f]{8}$/);
      }),
    );
  });

  it('encodes the key as base64(0x02 || SPKI)', () => {
    const spki = spkiOf('P-256');
    const b64 = formatVerifierKey('audit.example.com/prod', spki).split('+').slice(2).join('+');
    const typed = fromBase64(b64);
    expect(typed[0]).toBe(SIGNATURE_TYPE_ECDSA);
    expect(typed.slice(1)).toEqual(spki);
  });

  const [rName, rHex, ...rest] = REKOR_VKEY.split('+');
  const rB64 = rest.join('+');
  const typed = fromBase64(rB64);

  it.each([
    ['empty', ''],
    ['only a name', 'rekor.sigstore.dev'],
    ['two parts', `${rName}+${rHex}`],
    ['empty name', `+${rHex}+${rB64}`],
    ['space in name', `rekor sigstore+${rHex}+${rB64}`],
    ['uppercase key id', `${rName}+C0D23D6A+${rB64}`],
    ['short key id', `${rName}+c0d23d6+${rB64}`],
    ['wrong key id', `${rName}+c0d23d6b+${rB64}`],
    ['trailing newline', `${REKOR_VKEY}\n`],
    ['leading space', ` ${REKOR_VKEY}`],
    ['unpadded base64', `${rName}+${rHex}+${rB64.replace(/=+$/, '')}`],
    ['URL-safe base64', `${rName}+${rHex}+${rB64.replaceAll('+', '-').replaceAll('/', '_')}`],
    ['type byte only', `${rName}+${rHex}+${toBase64(Uint8Array.of(2))}`],
    ['truncated SPKI', `${rName}+${rHex}+${toBase64(typed.slice(0, 60))}`],
    ['trailing bytes', `${rName}+${rHex}+${toBase64(Uint8Array.of(...typed, 0))}`],
  ])('rejects %s with VKEY_INVALID', (_label, text) => {
    expect(codeOf(() => parseVerifierKey(text))).toBe('VKEY_INVALID');
  });

  it('rejects keys of other types or curves with KEY_UNSUPPORTED', () => {
    const retyped = Uint8Array.of(0x01, ...typed.slice(1));
    expect(codeOf(() => parseVerifierKey(`${rName}+${rHex}+${toBase64(retyped)}`))).toBe(
      'KEY_UNSUPPORTED',
    );
    for (const kind of ['P-384', 'ed25519', 'rsa'] as const) {
      const spki = spkiOf(kind);
      const id = hex(sha256(spki).slice(0, 4));
      const vkey = `n+${id}+${toBase64(Uint8Array.of(2, ...spki))}`;
      expect(codeOf(() => parseVerifierKey(vkey))).toBe('KEY_UNSUPPORTED');
      expect(codeOf(() => formatVerifierKey('n', spki))).toBe('KEY_UNSUPPORTED');
    }
  });

  it('formatVerifierKey refuses invalid names', () => {
    const spki = spkiOf('P-256');
    for (const bad of ['', 'a b', 'a+b', 'a\tb', 'a\u00a0b', 'a\u2003b', 'a\nb', 'a\u0000b']) {
      expect(codeOf(() => formatVerifierKey(bad, spki))).toBe('KEY_NAME_INVALID');
      expect(codeOf(() => assertKeyName(bad))).toBe('KEY_NAME_INVALID');
    }
  });
});

describe('assertP256Spki', () => {
  const spki = spkiOf('P-256');

  it('accepts a P-256 SPKI from node:crypto', () => {
    expect(() => assertP256Spki(spki)).not.toThrow();
  });

  it('rejects a compressed point as unsupported', () => {
    // Same header with a 33-byte compressed point: lengths shrink by 32.
    const compressed = Uint8Array.of(
      0x30,
      0x39,
      ...spki.slice(2, 23),
      0x03,
      0x22,
      0x00,
      0x02,
      ...spki.slice(27, 59),
    );
    expect(codeOf(() => assertP256Spki(compressed))).toBe('KEY_UNSUPPORTED');
  });

  it('rejects explicit curve parameters as unsupported', () => {
    // AlgorithmIdentifier { id-ecPublicKey, NULL } instead of the namedCurve OID.
    const alg = Uint8Array.of(0x30, 0x0b, 0x06, 0x07, ...spki.slice(6, 13), 0x05, 0x00);
    const bits = spki.slice(23);
    const der = Uint8Array.of(0x30, alg.length + bits.length, ...alg, ...bits);
    expect(codeOf(() => assertP256Spki(der))).toBe('KEY_UNSUPPORTED');
  });

  it('rejects non-DER input as SPKI_INVALID', () => {
    expect(codeOf(() => assertP256Spki(new Uint8Array(0)))).toBe('SPKI_INVALID');
    expect(codeOf(() => assertP256Spki(spki.slice(0, 90)))).toBe('SPKI_INVALID');
    expect(codeOf(() => assertP256Spki(spki.slice(1)))).toBe('SPKI_INVALID');
    const lied = spki.slice();
    lied[1] = 0x5a; // outer length one too long
    expect(codeOf(() => assertP256Spki(lied))).toBe('SPKI_INVALID');
  });

  it('never throws anything but a coded error on random or mutated bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 100 }),
          fc
            .tuple(fc.nat(spki.length - 1), fc.integer({ min: 1, max: 255 }))
            .map(([i, x]) => Uint8Array.from(spki, (v, j) => (j === i ? v ^ x : v))),
        ),
        (bytes) => {
          try {
            assertP256Spki(bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(ConfigurationError);
            expect(['SPKI_INVALID', 'KEY_UNSUPPORTED']).toContain((err as AuditlockError).code);
          }
        },
      ),
    );
  });
});
