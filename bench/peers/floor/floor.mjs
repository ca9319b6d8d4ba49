#!/usr/bin/env node
/**
 * The format floor (issue 14): what auditlock's format itself makes every ingest and every verify
 * do, and nothing else, in Node on this machine. bench/peer-tessera.mjs runs it beside auditlock
 * and Tessera, so that a missed target can be read against what no implementation of the format
 * in Node can avoid, measured in the same round.
 *
 *   node bench/peers/floor/floor.mjs ingest <input.jsonl> <out-dir> [--max-events 4096]
 *   node bench/peers/floor/floor.mjs verify <store> [--workers N]
 *
 * - ingest (one thread: its CPU per event is a lower bound whatever the threads): reads the input
 *   in 1 MiB chunks, splits lines on bytes, decodes each as strict UTF-8, JSON.parse, RFC 8785
 *   form as UTF-8 in the segment's buffer (auditlock's own `canonicalizePlainInto`, the fastest of
 *   its canonicalisers: the bench events hold no backslash), the RFC 9162 leaf hash; per segment
 *   the payload hash and the object hash, one file written and fsynced. Not done: the event rules,
 *   strict-JSON checks, entry envelope, delivery ids, Merkle frontier, signature, receipts.
 * - verify (N worker threads, default the cores, as `auditlock verify`): reads every segment file
 *   of every log of a folder store and computes the three SHA-256 passes the format requires: the
 *   whole object (the chain link), the payload (the signed payload hash), and each entry's leaf
 *   hash. Not done: parsing, the entry check, the signature, the chain, tree and order checks.
 *
 * Each prints one JSON line on stdout (`entries`, `segments`); CPU and peak RSS come from the
 * bench's usage hook (lib/usage-hook.mjs), as for auditlock's CLI.
 */
import { hash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
// Not lib/dist.mjs: that loads far more of the build than this needs.
import { loadDist } from '../../lib/dist-url.mjs';

const NL = 0x0a;

if (isMainThread) {
  const [mode, ...rest] = process.argv.slice(2);
  const flag = (name, fallback) => {
    const at = rest.indexOf(`--${name}`);
    return at < 0 ? fallback : Number(rest[at + 1]);
  };
  if (mode === 'ingest') await ingest(rest[0], rest[1], flag('max-events', 4096));
  else if (mode === 'verify') await verify(rest[0], flag('workers', availableParallelism()));
  else {
    process.stderr.write(
      'usage: floor.mjs ingest <input> <out-dir> [--max-events N] | verify <store> [--workers N]\n',
    );
    process.exit(2);
  }
} else {
  parentPort.postMessage(verifyFiles(workerData.files));
}

async function ingest(input, dir, maxEvents) {
  const { canonicalizePlainInto } = await loadDist('core/canonical-json.js');
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const encoder = new TextEncoder();
  mkdirSync(dir, { recursive: true });
  const leafInput = new Uint8Array(1 << 20);
  let body = new Uint8Array(8 << 20);
  let at = 0;
  let count = 0;
  let entries = 0;
  let segments = 0;
  const seal = () => {
    if (count === 0) return;
    const payload = body.subarray(0, at);
    const head = encoder.encode(
      `floor segment ${segments}\n${hash('sha256', payload, 'base64')}\n\n`,
    );
    const object = new Uint8Array(head.length + payload.length);
    object.set(head);
    object.set(payload, head.length);
    hash('sha256', object, 'binary'); // the object hash, which the next segment links to
    const fd = openSync(join(dir, `${String(segments).padStart(20, '0')}.seg`), 'wx');
    writeSync(fd, object);
    fsyncSync(fd);
    closeSync(fd);
    segments++;
    count = 0;
    at = 0;
  };
  const add = (line) => {
    const value = JSON.parse(decoder.decode(line));
    let end = canonicalizePlainInto(value, body, at);
    while (end < 0) {
      const grown = new Uint8Array(2 * body.length);
      grown.set(body.subarray(0, at));
      body = grown;
      end = canonicalizePlainInto(value, body, at);
    }
    const written = end - at;
    leafInput[0] = 0x00; // RFC 9162 leaf prefix
    leafInput.set(body.subarray(at, end), 1);
    hash('sha256', leafInput.subarray(0, written + 1), 'binary');
    at = end;
    if (at === body.length) {
      const grown = new Uint8Array(2 * body.length);
      grown.set(body);
      body = grown;
    }
    body[at++] = NL;
    entries++;
    if (++count === maxEvents) seal();
  };
  const fd = openSync(input, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let carry = Buffer.alloc(0);
  for (;;) {
    const read = readSync(fd, chunk, 0, chunk.length, null);
    if (read === 0) break;
    const data =
      carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
    let start = 0;
    for (let end = data.indexOf(NL, start); end >= 0; end = data.indexOf(NL, start)) {
      if (end > start) add(data.subarray(start, end));
      start = end + 1;
    }
    carry = Buffer.from(data.subarray(start));
  }
  closeSync(fd);
  if (carry.length > 0) add(carry);
  seal();
  process.stdout.write(`${JSON.stringify({ mode: 'ingest', entries, segments })}\n`);
}

async function verify(store, workers) {
  const files = [];
  for (const log of readdirSync(store).sort()) {
    let names;
    try {
      names = readdirSync(join(store, log, 'seg'));
    } catch {
      continue; // not a log
    }
    for (const name of names.sort())
      if (name.endsWith('.seg')) files.push(join(store, log, 'seg', name));
  }
  const shares = Array.from({ length: workers }, (_, w) =>
    files.filter((_, i) => i % workers === w),
  );
  const results = await Promise.all(
    shares.map(
      (share) =>
        new Promise((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), { workerData: { files: share } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  const entries = results.reduce((n, r) => n + r.entries, 0);
  process.stdout.write(`${JSON.stringify({ mode: 'verify', entries, segments: files.length })}\n`);
}

/** The three hash passes over each file: object, payload (after the signatures' blank line), leaves. */
function verifyFiles(files) {
  const leafInput = new Uint8Array(1 << 20);
  let entries = 0;
  for (const file of files) {
    const bytes = readFileSync(file);
    hash('sha256', bytes, 'binary');
    const payloadStart = blankLineEnd(bytes, blankLineEnd(bytes, 0));
    const payload = bytes.subarray(payloadStart);
    hash('sha256', payload, 'binary');
    let start = payload.indexOf(NL) + 1; // after the header line
    for (let end = payload.indexOf(NL, start); end >= 0; end = payload.indexOf(NL, start)) {
      const entry = payload.subarray(start, end);
      if (entry.length + 1 > leafInput.length)
        throw new Error(`${file}: entry of ${entry.length} bytes`);
      leafInput[0] = 0x00;
      leafInput.set(entry, 1);
      hash('sha256', leafInput.subarray(0, entry.length + 1), 'binary');
      entries++;
      start = end + 1;
    }
  }
  return { entries };
}

/** The index after the next `\n\n` at or after `from`. */
function blankLineEnd(bytes, from) {
  for (let i = bytes.indexOf(NL, from); i >= 0; i = bytes.indexOf(NL, i + 1))
    if (bytes[i + 1] === NL) return i + 2;
  throw new Error('no blank line: not an auditlock segment');
}
