/**
 * KmsSigner against the emulator: sign/verify round trip with node:crypto, the public key fetched
 * once (requests counted through the fault proxy), the 4,096-byte RAW limit enforced before any
 * request, and unusable keys refused with codes.
 */
import { createPublicKey, verify } from 'node:crypto';
import { CreateAliasCommand, DisableKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMS_MAX_RAW_MESSAGE_BYTES, KmsSigner } from '../../src/adapters/kms-signer.js';
import { AuditlockError } from '../../src/core/errors.js';
import {
  createTestKey,
  proxyableEndpoint,
  rejectionOf,
  scheduleTestKeyDeletion,
  testKmsClient,
  uniqueKeyAlias,
} from '../helpers/aws.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';

const upstream = proxyableEndpoint();

function verifies(spki: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return verify(
    'sha256',
    message,
    { key: Buffer.from(spki), format: 'der', type: 'spki' },
    signature,
  );
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(AuditlockError);
  return (err as AuditlockError).code;
}

describe('KmsSigner', () => {
  const kms = testKmsClient();
  let keyArn: string;
  let proxy: FaultProxy | undefined;

  beforeAll(async () => {
    keyArn = await createTestKey(kms);
    if (upstream) proxy = await startFaultProxy({ upstream });
  });

  afterAll(async () => {
    await proxy?.stop();
    await scheduleTestKeyDeletion(kms);
  });

  it('signs RAW messages with ECDSA P-256 / SHA-256 that node:crypto verifies', async () => {
    // Prepare
    const signer = new KmsSigner({ client: kms, keyId: keyArn });
    const message = new TextEncoder().encode('example.com/log\n42\nroot\n');
    // Act
    const signature = await signer.sign(message);
    const spki = await signer.publicKey();
    // Assess
    expect(verifies(spki, message, signature)).toBe(true);
    expect(signature[0]).toBe(0x30); // DER SEQUENCE, not IEEE P1363 r||s
    const tampered = message.slice();
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    expect(verifies(spki, tampered, signature)).toBe(false);
    expect(await signer.keyArn()).toBe(keyArn);
    expect(signer.description).toContain(keyArn);
  });

  it('resolves an alias to the key ARN and the same public key', async () => {
    const alias = uniqueKeyAlias('signer');
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyArn }));
    const byAlias = new KmsSigner({ client: kms, keyId: alias });
    const byArn = new KmsSigner({ client: kms, keyId: keyArn });
    expect(await byAlias.keyArn()).toBe(keyArn);
    expect(await byAlias.publicKey()).toEqual(await byArn.publicKey());
    const message = new Uint8Array([1, 2, 3]);
    expect(verifies(await byArn.publicKey(), message, await byAlias.sign(message))).toBe(true);
  });

  it('signs exactly 4,096 bytes and refuses 4,097 with MESSAGE_TOO_LARGE', async () => {
    const signer = new KmsSigner({ client: kms, keyId: keyArn });
    const max = new Uint8Array(KMS_MAX_RAW_MESSAGE_BYTES).fill(0x61);
    expect(verifies(await signer.publicKey(), max, await signer.sign(max))).toBe(true);
    const over = new Uint8Array(KMS_MAX_RAW_MESSAGE_BYTES + 1);
    expect(await codeOf(signer.sign(over))).toBe('MESSAGE_TOO_LARGE');
  });

  it('refuses keys that cannot sign with ECDSA_SHA_256 (KEY_UNSUPPORTED)', async () => {
    for (const spec of ['RSA_2048', 'SYMMETRIC_DEFAULT'] as const) {
      const signer = new KmsSigner({ client: kms, keyId: await createTestKey(kms, spec) });
      expect(await codeOf(signer.sign(new Uint8Array([1])))).toBe('KEY_UNSUPPORTED');
      expect(await codeOf(signer.publicKey())).toBe('KEY_UNSUPPORTED');
    }
  });

  it('refuses a missing alias (KEY_NOT_FOUND) and a disabled key (KEY_DISABLED)', async () => {
    const missing = new KmsSigner({ client: kms, keyId: uniqueKeyAlias('missing') });
    expect(await codeOf(missing.sign(new Uint8Array([1])))).toBe('KEY_NOT_FOUND');
    const disabledArn = await createTestKey(kms);
    // By key id: moto's DisableKey does not accept an ARN (AWS does).
    await kms.send(new DisableKeyCommand({ KeyId: disabledArn.split('/').pop() }));
    const disabled = new KmsSigner({ client: kms, keyId: disabledArn });
    expect(await codeOf(disabled.sign(new Uint8Array([1])))).toBe('KEY_DISABLED');
  });

  // Counting needs the proxy, which needs an emulator (real AWS checks the signed Host header).
  describe.skipIf(upstream === undefined)('requests (counted through the fault proxy)', () => {
    const viaProxy = (): FaultProxy => {
      if (proxy === undefined) throw new Error('no fault proxy');
      return proxy;
    };
    const counted = (options: { maxAttempts?: number } = {}) =>
      testKmsClient({ endpoint: viaProxy().url, ...options });
    const calls = (operation: string) =>
      viaProxy().requests.filter((r) => r.target === `TrentService.${operation}`).length;

    it('fetches the public key and key metadata once, however often it signs', async () => {
      const proxy = viaProxy();
      proxy.clearLog();
      const signer = new KmsSigner({ client: counted(), keyId: keyArn });
      const spkis = await Promise.all([signer.publicKey(), signer.publicKey(), signer.keyArn()]);
      for (let i = 0; i < 5; i++) await signer.sign(new Uint8Array([i]));
      await signer.publicKey();
      expect(calls('GetPublicKey')).toBe(1);
      expect(calls('DescribeKey')).toBe(1);
      expect(calls('Sign')).toBe(5);
      // The cached key is copied out: a caller mutating it cannot poison later calls.
      const first = spkis[0] as Uint8Array;
      first.fill(0);
      expect(await signer.publicKey()).not.toEqual(first);
    });

    it('sends nothing to KMS for a message over the limit', async () => {
      const proxy = viaProxy();
      proxy.clearLog();
      const signer = new KmsSigner({ client: counted(), keyId: keyArn });
      expect(await codeOf(signer.sign(new Uint8Array(KMS_MAX_RAW_MESSAGE_BYTES + 1)))).toBe(
        'MESSAGE_TOO_LARGE',
      );
      expect(proxy.requests).toHaveLength(0);
    });

    it('asks KMS again after a failed first use instead of caching the failure', async () => {
      const proxy = viaProxy();
      proxy.clearLog();
      proxy.setRules([{ fault: 'internalError', target: /GetPublicKey/, count: 10 }]);
      const signer = new KmsSigner({ client: counted({ maxAttempts: 1 }), keyId: keyArn });
      const err = await rejectionOf(signer.publicKey());
      expect((err as AuditlockError).code).toBe('SIGNER_UNAVAILABLE');
      expect((err as { retryable?: boolean }).retryable).toBe(true);
      proxy.setRules([]);
      const spki = await signer.publicKey();
      expect(
        createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).asymmetricKeyType,
      ).toBe('ec');
      expect(calls('GetPublicKey')).toBe(2);
    });
  });
});
