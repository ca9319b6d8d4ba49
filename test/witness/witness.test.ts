/**
 * The witness (core decision + app state over write-once records): every tlog-witness outcome
 * (200, 400, 403, 404, 409 with the size, 422), re-cosigning the same head, trust on first use and
 * a configured starting checkpoint, forks refused, and two witness processes sharing one folder
 * state store never cosigning two successors of one size.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { verifyCosignature } from '../../src/core/cosignature.js';
import { fromUtf8, utf8 } from '../../src/core/encoding.js';
import { parseNote } from '../../src/core/note.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { decideAddCheckpoint, openAddCheckpoint, REFUSAL_STATUS } from '../../src/core/witness.js';
import {
  formatAddCheckpoint,
  parseAddCheckpoint,
  parseCosignatureLines,
  parseTlogSize,
} from '../../src/core/witness-protocol.js';
import {
  encodeWitnessRecord,
  witnessOriginPrefix,
  witnessRecordKey,
} from '../../src/core/witness-state.js';
import { makeKey } from '../helpers/log-fixture.js';
import {
  checkpointNote,
  logConfig,
  ORIGIN,
  requestBody,
  type TestLog,
  testLog,
  testWitness,
} from './helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function count(store: ObjectStore, prefix = ''): Promise<number> {
  let n = 0;
  for await (const _ of store.list(prefix)) n++;
  return n;
}

/** A log of 3 segments of 4 entries (sizes 4, 8, 12). */
async function threeSegments(): Promise<TestLog> {
  const log = testLog();
  await log.append(12, 4);
  return log;
}

/** A copy of `log`'s store, so the copy can be extended differently (a fork). */
async function forkOf(log: TestLog): Promise<TestLog> {
  const store = new MemoryStore();
  for await (const o of log.store.list(''))
    await store.putIfAbsent(o.key, (await log.store.get(o.key)) as Uint8Array);
  return testLog(log.key, store);
}

describe('tlog-witness add-checkpoint outcomes', () => {
  it('refuses a malformed body (400) and a malformed checkpoint (400)', async () => {
    const log = await threeSegments();
    const { witness } = await testWitness([logConfig(log)]);
    const garbage = await witness.handle(utf8('hello'));
    expect([garbage.response.status, garbage.code]).toEqual([400, 'REQUEST_MALFORMED']);
    const notNote = await witness.handle(utf8('old 0\n\nnot a checkpoint\n'));
    expect([notNote.response.status, notNote.code]).toEqual([400, 'CHECKPOINT_MALFORMED']);
    const badProofLine = await witness.handle(
      utf8(`old 0\nnot-base64\n\n${await checkpointNote(log)}`),
    );
    expect([badProofLine.response.status, badProofLine.code]).toEqual([400, 'REQUEST_MALFORMED']);
  });

  it('answers 404 for an unknown origin and 403 when no configured key signed', async () => {
    const log = await threeSegments();
    const unknown = await testWitness([{ origin: 'other.example/log', keys: [log.trusted] }]);
    const a = await unknown.witness.handle(await requestBody(log, 0));
    expect([a.response.status, a.code]).toEqual([404, 'UNKNOWN_LOG']);
    const otherKey = makeKey();
    const wrongKey = await testWitness([
      { origin: ORIGIN, keys: [{ spki: otherKey.spki, name: ORIGIN }] },
    ]);
    const b = await wrongKey.witness.handle(await requestBody(log, 0));
    expect([b.response.status, b.code]).toEqual([403, 'SIGNATURE_UNTRUSTED']);
  });

  it('trusts the first checkpoint (old 0), then answers 409 with its size to old 0', async () => {
    const log = await threeSegments();
    const { witness, key, state } = await testWitness([logConfig(log)]);
    const first = await witness.handle(await requestBody(log, 0, 0));
    expect(first.response.status).toBe(200);
    const text = parseNote(await checkpointNote(log, 0)).text;
    const [line] = parseCosignatureLines(first.response.body);
    expect(line && verifyCosignature(text, line, key)).toBe(true);
    expect((await witness.head(ORIGIN))?.size).toBe(4);
    expect(await count(state, witnessOriginPrefix(ORIGIN))).toBe(1);

    const stale = await witness.handle(await requestBody(log, 0));
    expect([stale.response.status, stale.code]).toEqual([409, 'OLD_SIZE_MISMATCH']);
    expect(stale.response.contentType).toBe('text/x.tlog.size');
    expect(fromUtf8(stale.response.body)).toBe('4\n');
  });

  it('cosigns a consistent extension (200), refuses a bad proof (422) and a too-large old size (400)', async () => {
    const log = await threeSegments();
    const { witness, key } = await testWitness([logConfig(log)]);
    expect((await witness.handle(await requestBody(log, 0, 0))).response.status).toBe(200);

    const good = parseAddCheckpoint(await requestBody(log, 4));
    const tampered = good.proof.map((h) => h.slice());
    const first = tampered[0] as Uint8Array;
    first[0] = (first[0] as number) ^ 1;
    const bad = await witness.handle(formatAddCheckpoint({ ...good, proof: tampered }));
    expect([bad.response.status, bad.code]).toEqual([422, 'PROOF_INVALID']);
    const short = await witness.handle(
      formatAddCheckpoint({ ...good, proof: good.proof.slice(1) }),
    );
    expect([short.response.status, short.code]).toEqual([422, 'PROOF_INVALID']);

    const tooLarge = await witness.handle(formatAddCheckpoint({ ...good, oldSize: 13 }));
    expect([tooLarge.response.status, tooLarge.code]).toEqual([400, 'OLD_SIZE_TOO_LARGE']);

    const ok = await witness.handle(formatAddCheckpoint(good));
    expect(ok.response.status).toBe(200);
    const [line] = parseCosignatureLines(ok.response.body);
    expect(line && verifyCosignature(parseNote(good.checkpoint).text, line, key)).toBe(true);
    expect((await witness.head(ORIGIN))?.size).toBe(12);
  });

  it('re-cosigns the witnessed head itself (freshness) without writing state', async () => {
    const log = await threeSegments();
    const { witness, state } = await testWitness([logConfig(log)]);
    expect((await witness.handle(await requestBody(log, 0))).response.status).toBe(200);
    const again = await witness.handle(await requestBody(log, 12));
    expect(again.response.status).toBe(200);
    expect(await count(state)).toBe(1);
    const withProof = parseAddCheckpoint(await requestBody(log, 12));
    const extra = await witness.handle(
      formatAddCheckpoint({ ...withProof, proof: [new Uint8Array(32)] }),
    );
    expect([extra.response.status, extra.code]).toEqual([422, 'PROOF_INVALID']);
  });

  it('refuses a fork: another root at the witnessed size (409), a diverging extension (422)', async () => {
    const log = testLog();
    await log.append(8, 4);
    const fork = await forkOf(log);
    await log.append(4, 4, 100);
    await fork.append(4, 4, 200); // same origin and key, same sizes, other entries
    const { witness } = await testWitness([logConfig(log)]);
    expect((await witness.handle(await requestBody(log, 0))).response.status).toBe(200);
    const sameSize = await witness.handle(await requestBody(fork, 12));
    expect([sameSize.response.status, sameSize.code]).toEqual([409, 'ROOT_MISMATCH']);
    expect(parseTlogSize(sameSize.response)).toBe(12);
    await fork.append(4, 4, 300);
    const larger = await witness.handle(await requestBody(fork, 12));
    expect([larger.response.status, larger.code]).toEqual([422, 'PROOF_INVALID']);
    expect((await witness.head(ORIGIN))?.size).toBe(12);
  });

  it('every refusal carries the status the spec prescribes', () => {
    expect(REFUSAL_STATUS).toEqual({
      REQUEST_MALFORMED: 400,
      CHECKPOINT_MALFORMED: 400,
      UNKNOWN_LOG: 404,
      SIGNATURE_UNTRUSTED: 403,
      OLD_SIZE_TOO_LARGE: 400,
      OLD_SIZE_MISMATCH: 409,
      ROOT_MISMATCH: 409,
      PROOF_INVALID: 422,
    });
  });

  it('the pure decision: TOFU needs old 0 and an empty proof', async () => {
    const log = await threeSegments();
    const logs = new Map([[ORIGIN, logConfig(log)]]);
    const opened = openAddCheckpoint(await requestBody(log, 0), logs, 0);
    if ('ok' in opened) throw new Error('expected the checkpoint to open');
    expect(decideAddCheckpoint(opened, undefined)).toMatchObject({ ok: true, advance: true });
    const withProof = { ...opened, request: { ...opened.request, proof: [new Uint8Array(32)] } };
    expect(decideAddCheckpoint(withProof, undefined)).toMatchObject({ code: 'PROOF_INVALID' });
    const oldFour = { ...opened, request: { ...opened.request, oldSize: 4 } };
    expect(decideAddCheckpoint(oldFour, undefined)).toMatchObject({
      code: 'OLD_SIZE_MISMATCH',
      currentSize: 0,
    });
  });
});

describe('witness state records', () => {
  it('a corrupted record stops the witness (WITNESS_STATE_CORRUPT) instead of being trusted', async () => {
    const log = await threeSegments();
    const state = new MemoryStore();
    const { witness } = await testWitness([logConfig(log)], state);
    expect((await witness.handle(await requestBody(log, 0, 0))).response.status).toBe(200);
    // A record planted as record 1: same origin, signed by another key.
    const other = testLog(makeKey());
    await other.append(8, 4);
    const planted = encodeWitnessRecord({ seq: 1, prevSize: 4, note: await checkpointNote(other) });
    await state.putIfAbsent(witnessRecordKey(ORIGIN, 1), planted);
    await expect(witness.handle(await requestBody(log, 4))).rejects.toMatchObject({
      code: 'WITNESS_STATE_CORRUPT',
    });
    await state.putIfAbsent(witnessRecordKey(ORIGIN, 2), utf8('{"not":"a record"}'));
    const fresh = await testWitness([logConfig(log)], state);
    await expect(fresh.witness.head(ORIGIN)).rejects.toMatchObject({
      code: 'WITNESS_STATE_CORRUPT',
    });
  });
});

describe('configured starting checkpoint', () => {
  it('starts from it instead of trusting the first submission', async () => {
    const log = await threeSegments();
    const start = await checkpointNote(log, 1); // size 8
    const { witness } = await testWitness([logConfig(log, start)]);
    const first = await witness.handle(await requestBody(log, 0));
    expect([first.response.status, fromUtf8(first.response.body)]).toEqual([409, '8\n']);
    expect((await witness.handle(await requestBody(log, 8))).response.status).toBe(200);
  });

  it('refuses a fork of the starting checkpoint on first contact', async () => {
    const log = testLog();
    await log.append(8, 4);
    const fork = await forkOf(log);
    await log.append(4, 4, 100);
    await fork.append(4, 4, 200);
    const { witness } = await testWitness([logConfig(log, await checkpointNote(log))]);
    const res = await witness.handle(await requestBody(fork, 12));
    expect([res.response.status, res.code]).toEqual([409, 'ROOT_MISMATCH']);
  });

  it('refuses to open with a starting checkpoint not signed by the log key', async () => {
    const log = await threeSegments();
    const other = testLog(makeKey());
    await other.append(4, 4);
    await expect(
      testWitness([{ ...logConfig(log), start: await checkpointNote(other) }]),
    ).rejects.toMatchObject({ code: 'WITNESS_LOGS_INVALID' });
  });
});

describe('two witness processes over one folder state store', () => {
  it('never cosign two successors of one witnessed size', async () => {
    for (let trial = 0; trial < 6; trial++) {
      const dir = await mkdtemp(join(tmpdir(), 'auditlock-witness-'));
      dirs.push(dir);
      const log = testLog();
      await log.append(4, 4);
      const fork = await forkOf(log);
      await log.append(4 + trial, 4, 100);
      await fork.append(5 + trial, 4, 200);
      // Two independent witnesses (no shared memory), one key, one state folder.
      const a = await testWitness([logConfig(log)], new FolderStore(dir));
      const b = await testWitness([logConfig(log)], new FolderStore(dir), a.signer);
      expect((await a.witness.handle(await requestBody(log, 0, 0))).response.status).toBe(200);
      expect((await b.witness.head(ORIGIN))?.size).toBe(4);
      const [ra, rb] = await Promise.all([
        a.witness.handle(await requestBody(log, 4)),
        b.witness.handle(await requestBody(fork, 4)),
      ]);
      const statuses = [ra?.response.status, rb?.response.status].sort();
      expect(statuses).toEqual([200, 409]);
      expect(await count(a.state, witnessOriginPrefix(ORIGIN))).toBe(2);
      // Both now agree on the one successor.
      expect((await a.witness.head(ORIGIN))?.size).toBe((await b.witness.head(ORIGIN))?.size);
    }
  });
});
