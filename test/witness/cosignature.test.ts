/**
 * C2SP tlog-cosignature `cosignature/v1` (Ed25519): known answers recorded from the reference
 * witness (test/vectors/witness, see SOURCE.md there), round trips and every rejection.
 */
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalEd25519Signer } from '../../src/adapters/ed25519-key.js';
import {
  cosign,
  cosignedMessage,
  cosignerKey,
  cosignerKeyId,
  formatCosignerVkey,
  parseCosignerVkey,
  readCosignature,
  verifyCosignature,
} from '../../src/core/cosignature.js';
import { fromBase64, utf8 } from '../../src/core/encoding.js';
import { formatSignatureLine, parseNote, parseSignatureLine } from '../../src/core/note.js';
import { parseAddCheckpoint } from '../../src/core/witness-protocol.js';
import type { Ed25519Signer } from '../../src/core/witness-signer.js';

type Vector = {
  name: string;
  seedHex: string;
  publicKeyHex: string;
  exchanges: { request: string; status: number; response: string }[];
};
const vector = JSON.parse(
  readFileSync(
    new URL('../vectors/witness/omniwitness-cosignatures.json', import.meta.url),
    'utf8',
  ),
) as Vector;

/** An Ed25519 signer from a raw RFC 8032 seed (PKCS#8 prefix of RFC 8410 §7). */
function signerFromSeed(seedHex: string): LocalEd25519Signer {
  const der = Buffer.concat([
    Buffer.from('302e020100300506032b657004220420', 'hex'),
    Buffer.from(seedHex, 'hex'),
  ]);
  const pem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return LocalEd25519Signer.fromPem(pem);
}

/** `name+id+base64`; the base64 may itself contain `+`. */
function splitVkey(vkey: string): [string, string, string] {
  const a = vkey.indexOf('+');
  const b = vkey.indexOf('+', a + 1);
  return [vkey.slice(0, a), vkey.slice(a + 1, b), vkey.slice(b + 1)];
}

const CHECKPOINT = 'example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next line\n';

describe('cosignature/v1 against the reference witness (omniwitness)', () => {
  const key = cosignerKey(vector.name, Buffer.from(vector.publicKeyHex, 'hex'));
  const answered = vector.exchanges.filter((e) => e.status === 200);

  it('the vector is what SOURCE.md says: three accepted requests, one with a proof', () => {
    expect(answered.length).toBe(3);
    expect(parseAddCheckpoint(utf8(answered[1]?.request ?? '')).proof.length).toBeGreaterThan(0);
  });

  it('computes the key ID the reference witness puts in its lines', () => {
    for (const e of answered) {
      const line = parseSignatureLine(e.response.trimEnd());
      expect(Buffer.from(line.keyId).toString('hex')).toBe(Buffer.from(key.keyId).toString('hex'));
      expect(line.keyName).toBe(vector.name);
    }
  });

  it('verifies every reference cosignature over the checkpoint it was given', () => {
    for (const e of answered) {
      const text = parseNote(parseAddCheckpoint(utf8(e.request)).checkpoint).text;
      const line = parseSignatureLine(e.response.trimEnd());
      expect(verifyCosignature(text, line, key)).toBe(true);
      // And not over another checkpoint.
      expect(verifyCosignature(CHECKPOINT, line, key)).toBe(false);
    }
  });

  it('produces byte-identical lines with the same key and timestamp (Ed25519 is deterministic)', async () => {
    const signer = signerFromSeed(vector.seedHex);
    expect(Buffer.from(await signer.publicKey()).toString('hex')).toBe(vector.publicKeyHex);
    for (const e of answered) {
      const text = parseNote(parseAddCheckpoint(utf8(e.request)).checkpoint).text;
      const theirs = parseSignatureLine(e.response.trimEnd());
      const ours = await cosign(text, key, signer, readCosignature(theirs).timestamp);
      expect(`${formatSignatureLine(ours)}\n`).toBe(e.response);
    }
  });
});

describe('cosignature/v1 format', () => {
  const signer = LocalEd25519Signer.generate();
  const keyOf = async (name = 'witness.example/w1') => cosignerKey(name, await signer.publicKey());

  it('key ID is SHA-256(name || 0x0A || 0x04 || key)[:4]', async () => {
    const pub = await signer.publicKey();
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from('w.example/x\n'), Buffer.from([4]), pub]))
      .digest()
      .subarray(0, 4);
    expect(Buffer.from(cosignerKeyId('w.example/x', pub))).toEqual(expected);
  });

  it('signs `cosignature/v1\\ntime T\\n` + the note text, timestamp big-endian first', async () => {
    const key = await keyOf();
    const sig = await cosign(CHECKPOINT, key, signer, 1679315147);
    expect(sig.signature.length).toBe(72);
    expect(Buffer.from(sig.signature.subarray(0, 8)).toString('hex')).toBe('00000000641850cb');
    expect(Buffer.from(cosignedMessage(CHECKPOINT, 1679315147)).toString()).toBe(
      `cosignature/v1\ntime 1679315147\n${CHECKPOINT}`,
    );
    expect(readCosignature(sig).timestamp).toBe(1679315147);
    expect(verifyCosignature(CHECKPOINT, sig, key)).toBe(true);
  });

  it('any single changed byte of the text, timestamp or signature is rejected', async () => {
    const key = await keyOf();
    const sig = await cosign(CHECKPOINT, key, signer, 1700000000);
    fc.assert(
      fc.property(fc.nat({ max: CHECKPOINT.length - 1 }), fc.nat({ max: 71 }), (i, j) => {
        const text =
          CHECKPOINT.slice(0, i) + (CHECKPOINT[i] === 'x' ? 'y' : 'x') + CHECKPOINT.slice(i + 1);
        const bytes = sig.signature.slice();
        bytes[j] = (bytes[j] as number) ^ 0x01;
        return (
          !verifyCosignature(text, sig, key) &&
          !verifyCosignature(CHECKPOINT, { ...sig, signature: bytes }, key)
        );
      }),
      { numRuns: 200 },
    );
  });

  it('a line under another name or key ID does not count for the key', async () => {
    const key = await keyOf();
    const sig = await cosign(CHECKPOINT, key, signer, 1);
    expect(verifyCosignature(CHECKPOINT, { ...sig, keyName: 'other' }, key)).toBe(false);
    const other = await keyOf('witness.example/w2');
    expect(verifyCosignature(CHECKPOINT, sig, other)).toBe(false);
  });

  it('readCosignature refuses wrong lengths and timestamps beyond 2^53 - 1', () => {
    const base = { keyName: 'w', keyId: new Uint8Array(4) };
    expect(() => readCosignature({ ...base, signature: new Uint8Array(71) })).toThrow(
      expect.objectContaining({ code: 'COSIGNATURE_MALFORMED' }),
    );
    const big = new Uint8Array(72);
    big[0] = 0x80;
    expect(() => readCosignature({ ...base, signature: big })).toThrow(
      expect.objectContaining({ code: 'COSIGNATURE_MALFORMED' }),
    );
  });

  it('refuses to cosign what is not a checkpoint', async () => {
    const key = await keyOf();
    await expect(cosign('one line\n', key, signer, 1)).rejects.toMatchObject({
      code: 'NOTE_MALFORMED',
    });
  });

  it('refuses a signer that pre-hashes (like KMS ED25519_PH_SHA_512) or holds another key', async () => {
    const key = await keyOf();
    const pem = signer.privateKeyPem();
    const prehashing: Ed25519Signer = {
      description: 'prehashing',
      publicKey: () => signer.publicKey(),
      sign: async (m) =>
        new Uint8Array(sign(null, createHash('sha512').update(m).digest(), createPrivateKey(pem))),
    };
    await expect(cosign(CHECKPOINT, key, prehashing, 1)).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    await expect(cosign(CHECKPOINT, key, LocalEd25519Signer.generate(), 1)).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
  });
});

describe('cosigner vkeys', () => {
  it('round-trip, and name the type-0x04 key they hold', async () => {
    const signer = LocalEd25519Signer.generate();
    const pub = await signer.publicKey();
    const vkey = formatCosignerVkey('witness.example/w1', pub);
    expect(fromBase64(splitVkey(vkey)[2])[0]).toBe(0x04);
    const key = parseCosignerVkey(vkey);
    expect(key.name).toBe('witness.example/w1');
    expect(Buffer.from(key.publicKey)).toEqual(Buffer.from(pub));
  });

  it('refuse another type, a wrong key ID and malformed text', async () => {
    const pub = await LocalEd25519Signer.generate().publicKey();
    const vkey = formatCosignerVkey('w.example', pub);
    const [name, id, b64] = splitVkey(vkey);
    const typed = fromBase64(b64);
    typed[0] = 0x01;
    expect(() =>
      parseCosignerVkey(`${name}+${id}+${Buffer.from(typed).toString('base64')}`),
    ).toThrow(expect.objectContaining({ code: 'KEY_UNSUPPORTED' }));
    expect(() => parseCosignerVkey(`${name}+00000000+${b64}`)).toThrow(
      expect.objectContaining({ code: 'VKEY_INVALID' }),
    );
    expect(() => parseCosignerVkey('nonsense')).toThrow(
      expect.objectContaining({ code: 'VKEY_INVALID' }),
    );
  });
});
