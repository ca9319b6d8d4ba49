#!/usr/bin/env node
/**
 * Lookup cost in requests against log length (issue 11: "time-range lookup requests against log
 * length (logarithmic)"). Requests, not time: they are what a lookup costs on S3, and they do not
 * depend on the machine. For logs of n segments (one event per segment, received one second
 * apart, in a memory store whose every call is counted), it reports:
 * - finding the stored range (`findStoredRange`: existence probes for the head);
 * - a time range in the middle third (`findTimeRange`: segment reads for both bounds);
 * - a receipt by leaf index (`makeReceipt`: probes for the range, then trusted segment reads);
 * each next to ⌈log2(n + 1)⌉, the bound the module comments give costs in.
 *
 *   npm run build && node bench/lookup.mjs [--max 16384] [--out FILE] [--md FILE] [--doc]
 *
 * Prints a Markdown table; `--out` writes the JSON result (with the table as `markdown`), `--md`
 * the table, and `--doc` puts it into its section of docs/PERFORMANCE.md. `npm run bench` runs it
 * as section `lookup`.
 */
import { writeFileSync } from 'node:fs';
import { Archiver, generateKeyPair, LocalSigner, MemoryStore, parseEvent } from './lib/dist.mjs';
import { writeDocSection } from './lib/doc-section.mjs';
import { machineInfo } from './lib/machine.mjs';
import { log, parseArgs } from './lib/measure.mjs';

const load = (path) => import(new URL(`../dist/${path}`, import.meta.url).href);
const { findStoredRange, findTimeRange } = await load('app/segment-search.js');
const { makeReceipt } = await load('app/receipt.js');

const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);
const LOG = 'main';

/** A memory store whose calls are counted by method. */
function counted(store) {
  const counts = { exists: 0, get: 0, list: 0 };
  const wrapped = {
    location: store.location,
    putIfAbsent: (k, b, o) => store.putIfAbsent(k, b, o),
    get: (k, o) => {
      counts.get++;
      return store.get(k, o);
    },
    exists: (k) => {
      counts.exists++;
      return store.exists(k);
    },
    list: (p, o) => {
      counts.list++;
      return store.list(p, o);
    },
  };
  const take = () => {
    const c = { ...counts };
    counts.exists = counts.get = counts.list = 0;
    return c;
  };
  return { store: wrapped, take };
}

async function buildLog(n, signer) {
  const store = new MemoryStore();
  let now = T0;
  const archiver = await Archiver.open({
    store,
    signer,
    clock: { now: () => now },
    log: LOG,
    origin: 'bench.auditlock.local/lookup',
    maxEvents: 1,
  });
  for (let i = 0; i < n; i++) {
    now = T0 + i * 1000;
    const { stored } = await archiver.submit(
      parseEvent({
        id: `evt-${i}`,
        time: new Date(now).toISOString(),
        action: 'user.login',
        actor: { id: `user-${i % 7}`, type: 'user' },
        outcome: 'success',
      }),
    );
    await stored;
  }
  await archiver.close();
  return store;
}

const args = parseArgs();
const max = args.max ?? 16_384;
const signer = LocalSigner.fromPem(generateKeyPair().privateKeyPem);
const trustedKeys = [{ spki: await signer.publicKey(), label: 'bench' }];
const rows = [];
for (let n = 16; n <= max; n *= 4) {
  log(`lookup: building a log of ${n} segments`);
  const { store, take } = counted(await buildLog(n, signer));
  const bound = Math.ceil(Math.log2(n + 1));
  take();
  const stored = await findStoredRange(store, LOG);
  const range = take();
  const from = T0 + Math.floor(n / 3) * 1000;
  const to = T0 + Math.floor((2 * n) / 3) * 1000;
  const r = await findTimeRange(store, LOG, { fromMs: from, toMs: to }, { trustedKeys });
  const time = take();
  const receipt = await makeReceipt(store, LOG, { index: Math.floor(n / 2) }, { trustedKeys });
  const byIndex = take();
  if (stored?.headSeq !== n - 1) throw new Error(`head ${stored?.headSeq}, expected ${n - 1}`);
  if (r.firstSeq !== Math.floor(n / 3) || r.lastSeq !== Math.floor((2 * n) / 3) - 1)
    throw new Error(`time range ${r.firstSeq}..${r.lastSeq} is wrong`);
  const row = {
    segments: n,
    log2: bound,
    storedRange: { exists: range.exists },
    timeRange: { gets: time.get, exists: time.exists, segmentReads: r.reads },
    receiptByIndex: {
      exists: byIndex.exists,
      gets: byIndex.get,
      trustedReads: receipt.trustedReads,
    },
  };
  log(
    `  n=${n} (⌈log2(n+1)⌉=${bound}): stored range ${range.exists} probes; time range ${r.reads} segment reads (+${time.exists} probes); receipt by index ${receipt.trustedReads} reads (+${byIndex.exists} probes)`,
  );
  rows.push(row);
}
const markdown = [
  `Requests counted on a memory store, one event per segment received one second apart (\`node bench/lookup.mjs\`, ${new Date().toISOString().slice(0, 10)}; machine-independent).`,
  '',
  '| segments n | ⌈log2(n+1)⌉ | stored range: existence probes | time range (middle third): segment reads | receipt by leaf index: segment reads (+ probes) |',
  '|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.segments.toLocaleString('en')} | ${r.log2} | ${r.storedRange.exists} | ${r.timeRange.segmentReads} | ${r.receiptByIndex.trustedReads} (+${r.receiptByIndex.exists}) |`,
  ),
].join('\n');
process.stdout.write(`${markdown}\n`);
if (args.md) writeFileSync(args.md, `${markdown}\n`);
if (args.doc) writeDocSection('lookup', markdown);
if (args.out)
  writeFileSync(
    args.out,
    `${JSON.stringify({ machine: machineInfo(), rows, markdown }, null, 1)}\n`,
  );
