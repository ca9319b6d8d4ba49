/**
 * Receipts in a large log (issue 11: "time to find an event by id and write its receipt in a
 * 1,000,000-event log, target well under a second from a local bundle").
 *
 * Builds a folder store of `--events N` (default 1,000,000) ~1 KB events once, with the default
 * segment limits (4,096 events per segment), pulls it into an evidence bundle (with event-id index
 * files, FORMAT.md §7.2), and caches both under `.cache/bench/receipt-<N>` (with the key), so
 * later runs start at once. Then, each `--reps` times (default 5), for events spread over the log:
 * - `makeReceipt` by event id + writing the receipt file (in process: what the CLI does after
 *   start-up), from the bundle (through its index) and from the store (every segment's bytes
 *   scanned), and `prove`'s id lookup for comparison (every segment fully checked);
 * - `makeReceipt` by leaf index + writing the file;
 * - the real CLI, `auditlock receipt <store> <id> --out FILE` (node start-up included), 3 runs.
 * Prints the medians (wall ms) and the requests made (segments scanned / fully checked).
 *
 * Usage: `npm run build && node bench/receipt.mjs [--events N] [--reps N] [--no-prove]`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FolderStore, generateKeyPair, LocalSigner } from './lib/dist.mjs';
import { eventStream } from './lib/events.mjs';
import { ingestLines, LOG } from './lib/fixture.mjs';
import { log, median, parseArgs, timed } from './lib/measure.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const load = (path) => import(pathToFileURL(join(ROOT, 'dist', path)).href);
const { makeReceipt } = await load('app/receipt.js');
const { pullBundle } = await load('app/pull.js');
const { proveEntry } = await load('app/prove.js');
const { loadPublicKey } = await load('adapters/keys.js');

const args = parseArgs();
const events = args.events ?? 1_000_000;
const reps = args.reps ?? 5;
const cache = join(ROOT, '.cache', 'bench', `receipt-${events}`);
const store = join(cache, 'store');
const pubkey = join(cache, 'signing-key.pub.pem');
const { lineAt } = eventStream();

if (!existsSync(join(cache, 'done'))) {
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(store, { recursive: true });
  const pair = generateKeyPair();
  writeFileSync(pubkey, pair.publicKeyPem);
  log(`building a ${events.toLocaleString('en')}-event folder store in ${store} (once)`);
  const built = await timed(() =>
    ingestLines({
      dir: store,
      signer: LocalSigner.fromPem(pair.privateKeyPem),
      count: events,
      lineAt,
    }),
  );
  log(`built in ${(built.wallMs / 1000).toFixed(1)} s`);
  writeFileSync(join(cache, 'done'), `${new Date().toISOString()}\n`);
}

const { spki } = await loadPublicKey(pubkey);
const options = { trustedKeys: [{ spki, label: 'bench' }] };
const folder = new FolderStore(store);
// The same log pulled into an evidence bundle: with its event-id index files (FORMAT.md §7.2).
const bundleDir = join(cache, 'bundle');
if (!existsSync(join(cache, 'bundle-done'))) {
  rmSync(bundleDir, { recursive: true, force: true });
  log(`pulling it into a bundle in ${bundleDir} (once)`);
  const pulled = await timed(() =>
    pullBundle({
      source: folder,
      out: bundleDir,
      trustedKeys: options.trustedKeys,
      selection: { by: 'seq' },
    }),
  );
  log(`pulled in ${(pulled.wallMs / 1000).toFixed(1)} s`);
  writeFileSync(join(cache, 'bundle-done'), `${new Date().toISOString()}\n`);
}
const bundle = new FolderStore(bundleDir);
const idAt = (i) => JSON.parse(lineAt(i)).id;
// Early, middle and last events: the id scan reads every segment whatever the position.
const targets = [Math.floor(events * 0.1), Math.floor(events / 2), events - 1];
const out = join(cache, 'receipt.tlog-proof');

async function measure(label, fn, runs = reps) {
  const walls = [];
  let last;
  for (let r = 0; r < runs; r++) {
    const t = await timed(fn);
    walls.push(t.wallMs);
    last = t.result;
  }
  const m = median(walls);
  log(`${label}: median ${m.toFixed(0)} ms (${walls.map((w) => w.toFixed(0)).join(', ')})`);
  return { label, medianMs: m, runs: walls, detail: last };
}

const results = [];
for (const index of targets) {
  const id = idAt(index);
  results.push(
    await measure(`receipt by id from the bundle (id index), entry ${index}`, async () => {
      const r = await makeReceipt(bundle, LOG, { id }, options);
      writeFileSync(out, r.text);
      if (r.index !== index) throw new Error(`found ${r.index}, expected ${index}`);
      return { indexed: r.indexed, scanned: r.scanned, trustedReads: r.trustedReads };
    }),
  );
  results.push(
    await measure(
      `receipt by id from the store (every segment scanned), entry ${index}`,
      async () => {
        const r = await makeReceipt(folder, LOG, { id }, options);
        writeFileSync(out, r.text);
        if (r.index !== index) throw new Error(`found ${r.index}, expected ${index}`);
        return { indexed: r.indexed, scanned: r.scanned, trustedReads: r.trustedReads };
      },
    ),
  );
  results.push(
    await measure(`receipt by index, entry ${index}`, async () => {
      const r = await makeReceipt(folder, LOG, { index }, options);
      writeFileSync(out, r.text);
      return { scanned: r.scanned, trustedReads: r.trustedReads };
    }),
  );
}
if (!args['no-prove'])
  results.push(
    await measure(
      `prove by id (every segment checked), entry ${targets[1]}`,
      async () => {
        const p = await proveEntry(folder, LOG, { id: idAt(targets[1]) }, options);
        writeFileSync(out, p.proof);
        return {};
      },
      1,
    ),
  );
const cli = join(ROOT, 'dist', 'cli', 'main.js');
results.push(
  await measure(
    `CLI receipt by id from the bundle (process start included), entry ${targets[1]}`,
    async () => {
      execFileSync(process.execPath, [
        cli,
        'receipt',
        bundleDir,
        idAt(targets[1]),
        '--pubkey',
        pubkey,
        '--log',
        LOG,
        '--out',
        out,
      ]);
      return {};
    },
    3,
  ),
);
const check = execFileSync(process.execPath, [cli, 'verify-receipt', out, '--pubkey', pubkey]);
log(check.toString().split('\n')[0]);
const bytes = readFileSync(out).length;
process.stdout.write(
  `${JSON.stringify({ events, reps, receiptBytes: bytes, results }, null, 1)}\n`,
);
