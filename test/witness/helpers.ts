/**
 * Real logs and witnesses for the witness tests: a log written by the archiver into a memory
 * store, its head as an add-checkpoint request with a proof built from the stored segments, and
 * a witness over a state store with a fresh Ed25519 key.
 */
import { LocalEd25519Signer } from '../../src/adapters/ed25519-key.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { findHeadSeq } from '../../src/app/head.js';
import { readTrustedSegment } from '../../src/app/trusted-segment.js';
import { Witness, type WitnessLogConfig } from '../../src/app/witness.js';
import { consistencyProofFromStore } from '../../src/app/witness-proof.js';
import { type CosignerKey, cosignerKey } from '../../src/core/cosignature.js';
import { formatNote, type TrustedKey } from '../../src/core/note.js';
import type { Clock, ObjectStore } from '../../src/core/ports.js';
import { formatAddCheckpoint } from '../../src/core/witness-protocol.js';
import { logFixture, makeKey, type TestKey, writeLog } from '../helpers/log-fixture.js';

export const ORIGIN = 'audit.example.com/test/main';
export const LOG = 'main';

export type TestLog = {
  readonly store: ObjectStore;
  readonly key: TestKey;
  /** The log key as a witness is configured with it (a vkey: named after the origin). */
  readonly trusted: TrustedKey;
  /** Appends `count` events in segments of `perSegment` (event ids from `from`). */
  append(count: number, perSegment: number, from?: number): Promise<void>;
};

/** An empty log; pass the key of another log to fork it (same origin, same key). */
export function testLog(key: TestKey = makeKey(), store: ObjectStore = new MemoryStore()): TestLog {
  const fx = logFixture(store, key);
  let next = 0;
  return {
    store,
    key,
    trusted: { spki: key.spki, name: ORIGIN },
    append: async (count, perSegment, from) => {
      await writeLog(fx, count, perSegment, from ?? next);
      next = (from ?? next) + count;
    },
  };
}

/** The head checkpoint of `log` as a signed note, and segment `seq`'s (default: the head). */
export async function checkpointNote(log: TestLog, seq?: number): Promise<string> {
  const at = seq ?? (await findHeadSeq(log.store, LOG));
  const s = await readTrustedSegment(log.store, LOG, at, [log.key.trusted]);
  return formatNote(s.seg.noteText, s.seg.signatures);
}

/** An add-checkpoint body for segment `seq` (default head) with a proof from `oldSize`. */
export async function requestBody(
  log: TestLog,
  oldSize: number,
  seq?: number,
): Promise<Uint8Array> {
  const at = seq ?? (await findHeadSeq(log.store, LOG));
  const read = (n: number) => readTrustedSegment(log.store, LOG, n, [log.key.trusted]);
  const head = await read(at);
  const { proof } = await consistencyProofFromStore(read, head, at, oldSize);
  return formatAddCheckpoint({
    oldSize,
    proof,
    checkpoint: formatNote(head.seg.noteText, head.seg.signatures),
  });
}

export type TestWitness = {
  readonly witness: Witness;
  readonly key: CosignerKey;
  readonly signer: LocalEd25519Signer;
  readonly state: ObjectStore;
};

/** A fixed clock in ms (cosignature timestamps are its seconds). */
export function fixedClock(ms = Date.UTC(2026, 11, 1, 12, 0, 0)): Clock {
  return { now: () => ms };
}

/** A witness for `logs` over `state`; share `signer` to run two witnesses with one key. */
export async function testWitness(
  logs: readonly WitnessLogConfig[],
  state: ObjectStore = new MemoryStore(),
  signer: LocalEd25519Signer = LocalEd25519Signer.generate(),
): Promise<TestWitness> {
  const key = cosignerKey('witness.example.com/w1', await signer.publicKey());
  const witness = await Witness.open({ store: state, signer, key, logs, clock: fixedClock() });
  return { witness, key, signer, state };
}

/** The witness configuration entry of a test log. */
export function logConfig(log: TestLog, start?: string): WitnessLogConfig {
  return { origin: ORIGIN, keys: [log.trusted], ...(start !== undefined ? { start } : {}) };
}
