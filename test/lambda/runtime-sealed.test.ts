/**
 * The ingest runtime with sealed fields (AUDITLOCK_SEAL_CONFIG, issue 12): events sealed before
 * they are buffered, invalid input failed instead of quarantined (a quarantine keeps plaintext),
 * a key store that cannot answer fails the record and stores nothing of it; configuration checks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderKeyStore } from '../../src/adapters/folder-key-store.js';
import { LocalKeyWrapper } from '../../src/adapters/local-key-wrapper.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { SubjectKeys } from '../../src/app/subject-keys.js';
import { verifyStore } from '../../src/app/verify.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { InputError } from '../../src/core/errors.js';
import { parseSegment } from '../../src/core/segment.js';
import { readConfig } from '../../src/lambda/config.js';
import { IngestRuntime } from '../../src/lambda/runtime.js';
import type { SourceRecord } from '../../src/sources/types.js';
import { makeKey, sampleEvent, steppingClock, type TestKey } from '../helpers/log-fixture.js';

const SEAL = JSON.stringify({
  v: 1,
  subject: 'actor.id',
  fields: [{ path: 'actor.id' }, { path: 'actor.name' }, { path: 'source.ip' }],
});
const env = (key: TestKey, extra: Record<string, string> = {}) => ({
  AUDITLOCK_STORE: 'memory',
  AUDITLOCK_PRIVATE_KEY_PEM: key.privateKeyPem,
  AUDITLOCK_ORIGIN_PREFIX: 'audit.example.com/lambda-sealed',
  AUDITLOCK_SEAL_CONFIG: SEAL,
  AUDITLOCK_KEY_TABLE: 'keys',
  AUDITLOCK_KEY_WRAP_KMS_KEY_ID: 'alias/keys',
  ...extra,
});
const plenty = () => 60_000;

function record(id: string, n: number, invalid = false): SourceRecord {
  const delivery = { source: 'sqs', id };
  return {
    itemIdentifier: id,
    lane: undefined,
    maybeRedelivered: false,
    items: invalid
      ? [
          {
            ok: false,
            raw: new TextEncoder().encode('{"actor":{"id":"user-secret@example.com"'),
            error: new InputError('JSON_INVALID', 'bad JSON'),
            delivery,
          },
        ]
      : [{ ok: true, event: sampleEvent(n), delivery }],
  };
}

async function storedText(store: MemoryStore): Promise<string> {
  let text = '';
  for await (const { key } of store.list('')) {
    const seg = parseSegment((await store.get(key)) as Uint8Array);
    for (const e of splitEntries(decodeBody(seg.body, seg.header.encoding, seg.header.rawLength)))
      text += `${Buffer.from(e).toString()}\n`;
  }
  return text;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auditlock-lambda-sealed-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setup() {
  const store = new MemoryStore();
  const key = makeKey();
  const keyStore = await FolderKeyStore.create(join(dir, 'keys'));
  const wrapper = await LocalKeyWrapper.createFile(join(dir, 'wrap.key'));
  const subjectKeys = await SubjectKeys.open({ store: keyStore, wrapper, create: true });
  const rt = new IngestRuntime({
    config: readConfig(env(key)),
    store,
    signer: key.signer,
    clock: steppingClock(),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test', serviceName: 'test' }),
    subjectKeys,
  });
  return { store, key, rt };
}

describe('IngestRuntime with sealed fields', () => {
  it('seals events, and fails invalid input instead of quarantining its plaintext', async () => {
    const { store, key, rt } = await setup();
    const result = await rt.process(
      'sqs',
      [record('m1', 1), record('m2', 2, true), record('m3', 3)],
      plenty,
    );
    expect(result.failed.map((r) => r.itemIdentifier)).toEqual(['m2']);
    expect(result).toMatchObject({ stored: 2, quarantined: 0 });
    const text = await storedText(store);
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).kind),
    ).toEqual(['sealed-event', 'sealed-event']);
    for (const secret of ['user-1', 'user-3', '203.0.113.7', 'Zoë', 'user-secret'])
      expect(text).not.toContain(secret);
    expect(
      (await verifyStore(store, { trustedKeys: [key.trusted], strictEntries: true })).findings,
    ).toBe(0);
  });

  it('fails the record and stores nothing of it when the key store cannot answer', async () => {
    const { store, rt } = await setup();
    await rm(join(dir, 'keys'), { recursive: true });
    const result = await rt.process('sqs', [record('m1', 1)], plenty);
    expect(result.failed.map((r) => r.itemIdentifier)).toEqual(['m1']);
    expect(await storedText(store)).toBe('');
  });

  it('needs all three sealing variables, and a valid configuration', () => {
    const key = makeKey();
    const { AUDITLOCK_KEY_TABLE: _, ...partial } = env(key);
    expect(() => readConfig(partial)).toThrow(
      expect.objectContaining({ code: 'LAMBDA_CONFIG_INVALID' }),
    );
    expect(() =>
      readConfig(env(key, { AUDITLOCK_SEAL_CONFIG: '{"v":1,"fields":[{"path":"action"}]}' })),
    ).toThrow(expect.objectContaining({ code: 'LAMBDA_CONFIG_INVALID' }));
    expect(readConfig(env(key)).sealConfig?.fields.map((f) => f.path)).toEqual([
      'actor.id',
      'actor.name',
      'source.ip',
    ]);
  });
});
