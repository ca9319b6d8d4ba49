#!/usr/bin/env node
/**
 * Witness round trip: `auditlock witness serve`'s server (node:http on loopback, state in a
 * folder store with fsynced write-once records, a local Ed25519 key) answering add-checkpoint
 * requests sent by the submit client (fetch, keep-alive). Two kinds of request:
 *
 * - advancing: each request brings a new segment's checkpoint with a consistency proof from the
 *   previous one (verify the log's ECDSA signature and the proof, create the next state record,
 *   cosign);
 * - freshness: the witnessed head again (no write: verify and cosign only).
 *
 * The request bodies are built before timing, so this measures the witness and the network path,
 * not the proof builder. Also measured: the same requests handled in process (no HTTP).
 *
 *   node bench/witness.mjs [--requests 300] [--out result.json]
 */
import { writeFileSync } from 'node:fs';
import {
  Archiver,
  FolderStore,
  generateKeyPair,
  LocalSigner,
  MemoryStore,
  systemClock,
} from './lib/dist.mjs';
import { log, parseArgs } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

const DIST = new URL('../dist/', import.meta.url);
const load = (p) => import(new URL(p, DIST).href);
const { Witness } = await load('app/witness.js');
const { serveWitness } = await load('app/witness-server.js');
const { HttpWitnessClient } = await load('adapters/witness-http-client.js');
const { LocalEd25519Signer } = await load('adapters/ed25519-key.js');
const { cosignerKey } = await load('core/cosignature.js');
const { readTrustedSegment } = await load('app/trusted-segment.js');
const { consistencyProofFromStore } = await load('app/witness-proof.js');
const { formatAddCheckpoint } = await load('core/witness-protocol.js');
const { formatNote } = await load('core/note.js');

const ORIGIN = 'bench.auditlock.local/witness';
const LOG = 'bench';

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function stats(ms) {
  const total = ms.reduce((a, b) => a + b, 0);
  return {
    requests: ms.length,
    medianMs: Number(percentile(ms, 50).toFixed(3)),
    p95Ms: Number(percentile(ms, 95).toFixed(3)),
    perSecond: Math.round((ms.length * 1000) / total),
  };
}

/** A log of `segments` segments of 10 events, and one add-checkpoint body per segment. */
async function buildRequests(segments) {
  const signer = LocalSigner.fromPem(generateKeyPair().privateKeyPem);
  const spki = await signer.publicKey();
  const store = new MemoryStore();
  const archiver = await Archiver.open({
    store,
    signer,
    clock: systemClock,
    log: LOG,
    origin: ORIGIN,
    maxEvents: 10,
  });
  const stored = [];
  for (let i = 0; i < segments * 10; i++)
    stored.push(
      (
        await archiver.submit({
          time: '2026-12-01T12:00:00Z',
          action: 'bench.witness',
          actor: { id: `user-${i}` },
          outcome: 'success',
        })
      ).stored,
    );
  await archiver.close();
  await Promise.all(stored);
  const trusted = { spki, name: ORIGIN };
  const read = (seq) => readTrustedSegment(store, LOG, seq, [trusted]);
  const bodies = [];
  let old = 0;
  for (let seq = 0; seq < segments; seq++) {
    const head = await read(seq);
    const { proof } = await consistencyProofFromStore(read, head, seq, old);
    bodies.push(
      formatAddCheckpoint({
        oldSize: old,
        proof,
        checkpoint: formatNote(head.seg.noteText, head.seg.signatures),
      }),
    );
    old = head.seg.checkpoint.treeSize;
  }
  const last = await read(segments - 1);
  const fresh = formatAddCheckpoint({
    oldSize: old,
    proof: [],
    checkpoint: formatNote(last.seg.noteText, last.seg.signatures),
  });
  return { trusted, bodies, fresh };
}

async function openWitness(dir, trusted) {
  const signer = LocalEd25519Signer.generate();
  const key = cosignerKey('bench.auditlock.local/w1', await signer.publicKey());
  return Witness.open({
    store: new FolderStore(dir),
    signer,
    key,
    logs: [{ origin: ORIGIN, keys: [trusted] }],
    clock: systemClock,
  });
}

async function timeAll(send, bodies) {
  const ms = [];
  for (const body of bodies) {
    const t = performance.now();
    const res = await send(body);
    ms.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`witness answered ${res.status}`);
  }
  return ms;
}

export async function benchWitness({ requests = 300 } = {}) {
  log(`witness: building a log of ${requests} segments and their requests`);
  const { trusted, bodies, fresh } = await buildRequests(requests);
  const dirs = [makeTempDir('witness-http'), makeTempDir('witness-inproc')];
  try {
    const httpWitness = await openWitness(dirs[0], trusted);
    const server = await serveWitness(httpWitness, { listen: '127.0.0.1:0' });
    const client = new HttpWitnessClient(server.url);
    await timeAll((b) => client.addCheckpoint(b), bodies.slice(0, 5)); // warm up (not counted)
    log('witness: HTTP round trips');
    const httpAdvancing = await timeAll((b) => client.addCheckpoint(b), bodies.slice(5));
    const httpFresh = await timeAll((b) => client.addCheckpoint(b), Array(requests).fill(fresh));
    await server.close();
    const inproc = await openWitness(dirs[1], trusted);
    await timeAll((b) => inproc.addCheckpoint(b), bodies.slice(0, 5));
    log('witness: in process');
    const inAdvancing = await timeAll((b) => inproc.addCheckpoint(b), bodies.slice(5));
    const inFresh = await timeAll((b) => inproc.addCheckpoint(b), Array(requests).fill(fresh));
    return {
      http: { advancing: stats(httpAdvancing), freshness: stats(httpFresh) },
      inProcess: { advancing: stats(inAdvancing), freshness: stats(inFresh) },
    };
  } finally {
    for (const d of dirs) removeTempDir(d);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const result = await benchWitness(args);
  const text = JSON.stringify(result, null, 2);
  console.log(text);
  if (args.out) writeFileSync(args.out, `${text}\n`);
}
