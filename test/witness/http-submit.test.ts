/**
 * The witness over HTTP (node:http server on loopback, fetch client) and the submit use case:
 * the spec's status codes on the wire, 409 followed, cosignatures checked and stored write-once,
 * a fork refused, a rolled-back log caught by the witness, and the verifier-side check of the
 * stored cosigned checkpoints (LOG_TRUNCATED, CHECKPOINT_MISMATCH, quorum).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LocalEd25519Signer } from '../../src/adapters/ed25519-key.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { HttpWitnessClient } from '../../src/adapters/witness-http-client.js';
import { verifyStore } from '../../src/app/verify.js';
import { serveWitness, type WitnessServer } from '../../src/app/witness-server.js';
import { submitToWitness } from '../../src/app/witness-submit.js';
import { type CosignerKey, cosignerKey } from '../../src/core/cosignature.js';
import { fromUtf8, utf8 } from '../../src/core/encoding.js';
import { StorageError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/findings.js';
import type { ObjectStore } from '../../src/core/ports.js';
import {
  collectWitnessedCheckpoints,
  parseCosignedCheckpointKey,
} from '../../src/core/witness-check.js';
import { formatAddCheckpoint, parseAddCheckpoint } from '../../src/core/witness-protocol.js';
import {
  LOG,
  logConfig,
  ORIGIN,
  requestBody,
  type TestLog,
  testLog,
  testWitness,
} from './helpers.js';

const servers: WitnessServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function served(log: TestLog) {
  const w = await testWitness([logConfig(log)]);
  const server = await serveWitness(w.witness, { listen: '127.0.0.1:0' });
  servers.push(server);
  return { ...w, server, client: new HttpWitnessClient(server.url) };
}

async function post(url: string, body: Uint8Array | string, method = 'POST') {
  const res = await fetch(`${url}/add-checkpoint`, {
    method,
    ...(method === 'POST' ? { body } : {}),
  });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function witnessObjects(store: ObjectStore) {
  const out: { key: string; bytes: Uint8Array }[] = [];
  for await (const o of store.list(`${LOG}/witness/`))
    out.push({ key: o.key, bytes: (await store.get(o.key)) as Uint8Array });
  return out;
}

/** Removes the newest segments of a memory store (what deleting them in a folder store does). */
async function truncated(log: TestLog, keepSegments: number): Promise<TestLog> {
  const store = new MemoryStore();
  for await (const o of log.store.list('')) {
    const seq = Number(/\/seg\/([0-9]{20})\.seg$/.exec(o.key)?.[1] ?? Number.NaN);
    if (Number.isNaN(seq) || seq < keepSegments)
      await store.putIfAbsent(o.key, (await log.store.get(o.key)) as Uint8Array);
  }
  return testLog(log.key, store);
}

describe('witness serve over HTTP', () => {
  it('answers the spec status codes on the wire, 409 with text/x.tlog.size', async () => {
    const log = testLog();
    await log.append(12, 4);
    const { server } = await served(log);
    const first = await post(server.url, await requestBody(log, 0, 0));
    expect(first.status).toBe(200);
    expect(first.text).toMatch(/^\u2014 witness\.example\.com\/w1 [A-Za-z0-9+/]+=*\n$/);

    const stale = await post(server.url, await requestBody(log, 0));
    expect([stale.status, stale.type, stale.text]).toEqual([409, 'text/x.tlog.size', '4\n']);

    const good = parseAddCheckpoint(await requestBody(log, 4));
    const inconsistent = good.proof.map((h) => h.slice().reverse());
    const bad = await post(server.url, formatAddCheckpoint({ ...good, proof: inconsistent }));
    expect(bad.status).toBe(422);
    expect(bad.text.startsWith('PROOF_INVALID')).toBe(true);

    expect((await post(server.url, 'old x\n\n')).status).toBe(400);
    expect((await post(server.url, formatAddCheckpoint({ ...good, oldSize: 99 }))).status).toBe(
      400,
    );
    expect((await post(server.url, 'x'.repeat(17 * 1024))).status).toBe(413);
    expect((await post(server.url, '', 'GET')).status).toBe(405);
    expect((await fetch(`${server.url}/other`, { method: 'POST', body: 'x' })).status).toBe(404);
  });

  it('answers 403 for a checkpoint of the origin signed by another key, 404 for another origin', async () => {
    const log = testLog();
    await log.append(4, 4);
    const { server } = await served(log);
    const impostor = testLog(); // same origin, another key
    await impostor.append(4, 4);
    expect((await post(server.url, await requestBody(impostor, 0))).status).toBe(403);
    const body = fromUtf8(await requestBody(log, 0)).replaceAll(ORIGIN, 'x.example/other');
    expect((await post(server.url, body)).status).toBe(404);
  });
});

describe('witness serve when its state store fails', () => {
  it('answers 503 for a transient failure and 500 otherwise, and cosigns nothing', async () => {
    const log = testLog();
    await log.append(4, 4);
    let failure: StorageError = new StorageError('UNAVAILABLE', 'down', { retryable: true });
    const state = new MemoryStore();
    state.exists = async () => {
      throw failure;
    };
    const w = await testWitness([logConfig(log)], state);
    const server = await serveWitness(w.witness, { listen: '127.0.0.1:0' });
    servers.push(server);
    const transient = await post(server.url, await requestBody(log, 0));
    expect([transient.status, transient.text]).toEqual([503, 'internal error\n']);
    failure = new StorageError('DENIED', 'no', { retryable: false });
    expect((await post(server.url, await requestBody(log, 0))).status).toBe(500);
    let records = 0;
    for await (const _ of state.list('')) records++;
    expect(records).toBe(0);
  });
});

describe('witness submit', () => {
  it('gets a cosignature, checks it, stores it write-once, and follows a 409', async () => {
    const log = testLog();
    await log.append(8, 4);
    const { client, key } = await served(log);
    const opts = {
      store: log.store,
      log: LOG,
      trustedKeys: [log.key.trusted],
      client,
      witnessKey: key,
    };
    const first = await submitToWitness(opts);
    expect(first).toMatchObject({ ok: true, treeSize: 8, stored: 'created' });
    await log.append(8, 4);
    // Forget the stored cosignature: the first guess is then 0 and the 409 says 8.
    const fresh = new MemoryStore();
    for await (const o of log.store.list(`${LOG}/seg/`))
      await fresh.putIfAbsent(o.key, (await log.store.get(o.key)) as Uint8Array);
    const second = await submitToWitness({ ...opts, store: fresh });
    expect(second).toMatchObject({ ok: true, treeSize: 16, stored: 'created' });
    const again = await submitToWitness({ ...opts, store: fresh });
    expect(again).toMatchObject({ ok: true, treeSize: 16 });
    expect(['identical', 'kept']).toContain(again.ok && again.stored);
    expect(
      (await witnessObjects(fresh)).map((o) => parseCosignedCheckpointKey(o.key)?.treeSize),
    ).toEqual([16]);
  });

  it('refuses a fork: a second log under the same origin and key (exit code path: ok false)', async () => {
    const log = testLog();
    await log.append(8, 4);
    const { client, key } = await served(log);
    const opts = { log: LOG, client, witnessKey: key };
    expect(
      await submitToWitness({ ...opts, store: log.store, trustedKeys: [log.key.trusted] }),
    ).toMatchObject({ ok: true });
    const fork = testLog(log.key); // same key and origin, other entries
    await fork.append(8, 4, 500);
    const sameSize = await submitToWitness({
      ...opts,
      store: fork.store,
      trustedKeys: [log.key.trusted],
    });
    expect(sameSize).toMatchObject({ ok: false });
    await fork.append(4, 4, 900);
    const larger = await submitToWitness({
      ...opts,
      store: fork.store,
      trustedKeys: [log.key.trusted],
    });
    // The witness holds 8; the fork's proof from 8 does not verify against the witnessed root.
    expect(larger).toMatchObject({ ok: false, code: 'WITNESS_REFUSED', status: 422 });
    expect(sameSize).toMatchObject({ code: 'WITNESS_FORKED' });
    expect(await witnessObjects(fork.store)).toEqual([]);
  });

  it('a rolled-back log is caught: the witness has cosigned more than the store holds', async () => {
    const log = testLog();
    await log.append(12, 4);
    const { client, key } = await served(log);
    const opts = { log: LOG, client, witnessKey: key, trustedKeys: [log.key.trusted] };
    expect(await submitToWitness({ ...opts, store: log.store })).toMatchObject({
      ok: true,
      treeSize: 12,
    });
    const rolledBack = await truncated(log, 2);
    expect(await submitToWitness({ ...opts, store: rolledBack.store })).toMatchObject({
      ok: false,
      code: 'WITNESS_AHEAD',
    });
  });

  it('refuses a 200 without a valid cosignature by the expected witness key', async () => {
    const log = testLog();
    await log.append(4, 4);
    const { client } = await served(log);
    const otherKey = cosignerKey(
      'witness.example.com/w1',
      await LocalEd25519Signer.generate().publicKey(),
    );
    const r = await submitToWitness({
      store: log.store,
      log: LOG,
      trustedKeys: [log.key.trusted],
      client,
      witnessKey: otherKey,
    });
    expect(r).toMatchObject({ ok: false, code: 'COSIGNATURE_MISSING' });
  });
});

describe('verifier side: witnessed checkpoints against the log', () => {
  async function witnessedLog() {
    const log = testLog();
    await log.append(12, 4);
    const a = await served(log);
    const b = await served(log);
    for (const w of [a, b])
      expect(
        await submitToWitness({
          store: log.store,
          log: LOG,
          trustedKeys: [log.key.trusted],
          client: w.client,
          witnessKey: w.key,
        }),
      ).toMatchObject({ ok: true });
    return { log, keys: [a.key, b.key] };
  }

  /** What `verify --witness-key` reports of `store`'s log (codes, in order). */
  async function verifyWitnessed(
    store: ObjectStore,
    log: TestLog,
    keys: readonly CosignerKey[],
    quorum: number,
    stores?: readonly ObjectStore[],
  ): Promise<string[]> {
    const findings: Finding[] = [];
    await verifyStore(store, {
      trustedKeys: [log.key.trusted],
      witness: { keys, quorum, ...(stores ? { stores } : {}) },
      onFinding: (f) => findings.push(f),
    });
    return findings.map((f) => f.code);
  }

  it('accepts a log that matches a quorum of witnesses', async () => {
    const { log, keys } = await witnessedLog();
    const collected = collectWitnessedCheckpoints({
      log: LOG,
      origin: ORIGIN,
      objects: await witnessObjects(log.store),
      logKeys: [log.key.trusted],
      witnessKeys: keys,
    });
    expect(collected.findings).toEqual([]);
    expect(collected.checkpoints.map((c) => [c.checkpoint.treeSize, c.witnesses.length])).toEqual([
      [12, 2],
    ]);
    expect(await verifyWitnessed(log.store, log, keys, 2)).toEqual([]);
    expect(await verifyWitnessed(log.store, log, keys, 3)).toEqual(['WITNESS_QUORUM_NOT_MET']);
  });

  it('reports LOG_TRUNCATED when the newest segments are gone, CHECKPOINT_MISMATCH for a fork', async () => {
    const { log, keys } = await witnessedLog();
    const short = await truncated(log, 2);
    expect(await verifyWitnessed(short.store, log, keys, 1)).toEqual(['LOG_TRUNCATED']);
    const fork = testLog(log.key);
    await fork.append(12, 4, 700);
    expect(await verifyWitnessed(fork.store, log, keys, 1, [log.store])).toEqual([
      'CHECKPOINT_MISMATCH',
    ]);
  });

  it('reports tampered cosigned objects with their own codes', async () => {
    const { log, keys } = await witnessedLog();
    const [first, second] = await witnessObjects(log.store);
    if (!first || !second) throw new Error('expected two cosigned objects');
    const text = fromUtf8(first.bytes);
    const flipped = first.bytes.slice();
    const last = flipped.length - 10; // inside the cosignature's base64
    flipped[last] = flipped[last] === 0x41 ? 0x42 : 0x41;
    const objects = [
      { key: first.key, bytes: flipped },
      { key: second.key, bytes: utf8(text.replace('\n12\n', '\n13\n')) },
      { key: `${LOG}/witness/junk`, bytes: utf8('x') },
      {
        key: second.key.replace('00000000000000000012', '00000000000000000011'),
        bytes: second.bytes,
      },
    ];
    const collected = collectWitnessedCheckpoints({
      log: LOG,
      objects,
      logKeys: [log.key.trusted],
      witnessKeys: keys,
    });
    expect(collected.findings.map((f) => f.code).sort()).toEqual([
      'WITNESS_COSIGNATURE_INVALID',
      'WITNESS_OBJECT_MALFORMED',
      'WITNESS_OBJECT_MALFORMED',
      'WITNESS_OBJECT_MALFORMED',
    ]);
    expect(collected.checkpoints).toEqual([]);
  });
});
