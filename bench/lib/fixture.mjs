/**
 * What the ingest and verify benchmarks share: a signing key, the archiver driven the way the CLI
 * drives it, reading a log's entries back, and the floors the measurements are compared with.
 */
import { hash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  Archiver,
  decodeBody,
  FolderStore,
  formatInputDeliveryId,
  generateKeyPair,
  INPUT_CHAIN_START,
  LocalSigner,
  nextInputChain,
  parseEvent,
  parseEventBytes,
  parseSegment,
  splitEntries,
  systemClock,
} from './dist.mjs';

export const LOG = 'bench';
export const ORIGIN = 'bench.auditlock.local/bench';

/** A fresh P-256 key: the local signer the CLI's `--key` uses, and its trusted public key. */
export async function makeKey() {
  const signer = LocalSigner.fromPem(generateKeyPair().privateKeyPem);
  return { signer, trusted: { spki: await signer.publicKey(), label: 'bench' } };
}

/**
 * Archives `count` lines into a new folder store at `dir` (or into `store`), as `auditlock ingest`
 * does: each line through `parseEventBytes` (strict) with the input chain in its delivery id, then `Archiver.submit` with a CLI delivery record,
 * default segment limits (or `maxEvents` per segment), then `close()`. `lineAt(i)` gives line i
 * (0-based).
 */
export async function ingestLines({ dir, store, signer, count, lineAt, encoding, maxEvents }) {
  const archiver = await Archiver.open({
    store: store ?? new FolderStore(dir),
    signer,
    clock: systemClock,
    log: LOG,
    origin: ORIGIN,
    // Absent, not undefined: Archiver.open spreads its options over its defaults.
    ...(encoding ? { encoding } : {}),
    ...(maxEvents ? { maxEvents } : {}),
  });
  let failure;
  // As the CLI does: strict byte parsing, and the input chain in each delivery id.
  const encoder = new TextEncoder();
  let chain = INPUT_CHAIN_START;
  for (let i = 0; i < count; i++) {
    const bytes = encoder.encode(`${lineAt(i)}\n`);
    const event = parseEventBytes(bytes.subarray(0, bytes.length - 1), i + 1, parseEvent);
    chain = nextInputChain(chain, bytes);
    const id = formatInputDeliveryId('events.jsonl', i + 1, chain);
    const { stored } = await archiver.submit(event, { source: 'cli', id });
    stored.catch((err) => {
      failure ??= err;
    });
  }
  await archiver.close();
  if (failure) throw failure;
  if (archiver.head.frontier.size !== count)
    throw new Error(`archived ${archiver.head.frontier.size} entries, expected ${count}`);
  return count;
}

/** Total size of the segment objects of the bench log in `dir`. */
export function storedBytes(dir) {
  const seg = join(dir, LOG, 'seg');
  let total = 0;
  for (const f of readdirSync(seg)) total += statSync(join(seg, f)).size;
  return total;
}

/** Every entry of the bench log in `dir`, as byte views into the segments read back from disk. */
export function readEntries(dir) {
  const seg = join(dir, LOG, 'seg');
  const entries = [];
  for (const f of readdirSync(seg).sort()) {
    const p = parseSegment(readFileSync(join(seg, f)));
    for (const e of splitEntries(decodeBody(p.body, p.header.encoding, p.header.rawLength)))
      entries.push(e);
  }
  return entries;
}

/**
 * Ingest floor: the least work any archiver must do per event given JSON text: parse it, serialise
 * it, hash it. `JSON.parse` + `JSON.stringify` + one-shot SHA-256 of the UTF-8 text (node:crypto's
 * `crypto.hash`, the fastest SHA-256 in bench/hash.mjs; UTF-8 encoding happens inside it).
 */
export function ingestFloor(lines) {
  let x = 0;
  for (const line of lines)
    x ^= hash('sha256', JSON.stringify(JSON.parse(line)), 'binary').charCodeAt(0);
  return x;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Verify floor: the least work any verifier must do per stored entry: hash it once and parse it
 * once. One-shot SHA-256 of the entry bytes + strict UTF-8 decoding + `JSON.parse`.
 */
export function verifyFloor(entries) {
  let x = 0;
  for (const e of entries) {
    x ^= hash('sha256', e, 'binary').charCodeAt(0);
    x ^= JSON.parse(decoder.decode(e)) === null ? 1 : 0;
  }
  return x;
}
