#!/usr/bin/env node
/**
 * Verifying a large log from the emulator (issue 9): `verifyStore` over an S3 Object Lock store
 * holding a 1,000,000-event log, with parallel reads (concurrency 8, the default, and 16)
 * against a sequential walk (concurrency 1: one download at a time, as CloudTrail's validator
 * does), on loopback and with a simulated per-request latency.
 *
 * The log is written by the library's archiver straight into the emulator (S3Store, default
 * segment limits, a local P-256 key: signing is not what is measured). Verification runs
 * through the counting proxy of bench/lib/s3-emulator.mjs, which adds the latency. Each
 * repetition runs every concurrency once, in turn (A B C A B C), and the floor with them:
 *
 * - download floor: GetObject of every segment, 8 at a time, bytes discarded: what serving the
 *   log costs the emulator and the client, with no verification at all.
 *
 * Ratios are taken within a repetition: sequential time / parallel time, and floor time /
 * verification time.
 *
 *   npm run build && node bench/s3-parallel.mjs [--events 1000000] [--concurrency 1,8,16]
 *     [--latencies 0,20] [--reps 3] [--out result.json] [--md bench/results/s3-parallel.md] [--doc]
 *
 * Starts its own moto (scripts/moto.mjs) unless AWS_ENDPOINT_URL points at a loopback emulator.
 * The emulator holds the log in memory (about 1.1 GB for a million events). Writes the report to
 * bench/results/s3-parallel.md (or --md), and with --doc into its section of docs/PERFORMANCE.md.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, LocalSigner } from './lib/dist.mjs';
import { writeDocSection } from './lib/doc-section.mjs';
import { eventStream } from './lib/events.mjs';
import { ingestLines, LOG } from './lib/fixture.mjs';
import { machineInfo } from './lib/machine.mjs';
import { log, median, parseArgs, summary, timed } from './lib/measure.mjs';
import { quietSdkNodeWarning, startCountingProxy, startEmulator } from './lib/s3-emulator.mjs';

quietSdkNodeWarning();
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const load = (path) => import(new URL(`../dist/${path}`, import.meta.url).href);
const { verifyStore } = await load('app/verify.js');
const { S3Store } = await load('adapters/s3-store.js');
const { createS3Client } = await load('adapters/aws-config.js');
const { CreateBucketCommand } = await import('@aws-sdk/client-s3');

const REGION = 'us-east-1';
const FLOOR_CONCURRENCY = 8;

/** Downloads every key in `keys`, `concurrency` at a time; returns the bytes read. */
async function downloadAll(store, keys, concurrency) {
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++];
      const data = await store.get(key);
      if (data === undefined) throw new Error(`${key} listed but not readable`);
      bytes += data.length;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return bytes;
}

export async function benchS3Parallel({
  events = 1_000_000,
  concurrencies = [1, 8, 16],
  latencies = [0, 20],
  reps = 3,
} = {}) {
  const emulator = await startEmulator();
  const proxy = await startCountingProxy(emulator.endpoint);
  try {
    const bucket = `auditlock-bench-${randomBytes(4).toString('hex')}`;
    await createS3Client({ region: REGION, endpoint: emulator.endpoint }).send(
      new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }),
    );
    const storeVia = (endpoint) =>
      new S3Store({
        client: createS3Client({ region: REGION, endpoint }),
        bucket,
        prefix: 'bench',
        retention: { days: 1 },
      });
    const signer = LocalSigner.fromPem(generateKeyPair().privateKeyPem);
    const trusted = [{ spki: await signer.publicKey(), label: 'bench' }];
    log(`s3-parallel: archiving ${events} events into ${emulator.version}`);
    const { lineAt } = eventStream();
    const write = await timed(() =>
      ingestLines({ store: storeVia(emulator.endpoint), signer, count: events, lineAt }),
    );
    log(`s3-parallel: written in ${(write.wallMs / 1000).toFixed(0)} s`);

    const store = storeVia(proxy.url);
    const keys = [];
    for await (const o of store.list(`${LOG}/seg/`)) keys.push(o.key);
    let segmentBytes = 0;
    const verifyOnce = (concurrency) =>
      timed(async () => {
        let findings = 0;
        const r = await verifyStore(store, {
          trustedKeys: trusted,
          concurrency,
          minRetentionDays: 1,
          onFinding: () => findings++,
        });
        if (!r.ok || findings > 0 || r.logs[0]?.entries !== events)
          throw new Error(`verify found problems: ${JSON.stringify(r.logs)}`);
        segmentBytes = r.logs[0].bytes;
      });
    log('s3-parallel: warm-up (one verification, one download pass)');
    await verifyOnce(8);
    await downloadAll(store, keys, FLOOR_CONCURRENCY);

    const settings = [];
    for (const latency of latencies) {
      proxy.setLatency(latency);
      const runs = new Map(concurrencies.map((c) => [c, []]));
      const floor = [];
      for (let rep = 0; rep < reps; rep++) {
        // Rotate the starting point, so no setting always runs first after the floor.
        const order = concurrencies.map((_, i) => concurrencies[(i + rep) % concurrencies.length]);
        for (const c of order) runs.get(c).push(await verifyOnce(c));
        floor.push(await timed(() => downloadAll(store, keys, FLOOR_CONCURRENCY)));
        log(
          `s3-parallel latency ${latency} ms rep ${rep + 1}/${reps}: ${concurrencies.map((c) => `c=${c} ${(runs.get(c).at(-1).wallMs / 1000).toFixed(1)} s`).join(', ')}, download floor ${(floor.at(-1).wallMs / 1000).toFixed(1)} s`,
        );
      }
      const seq = runs.get(concurrencies[0]);
      settings.push({
        latency,
        floorMs: summary(floor.map((f) => f.wallMs)),
        byConcurrency: concurrencies.map((c) => {
          const r = runs.get(c);
          return {
            concurrency: c,
            wallMs: summary(r.map((x) => x.wallMs)),
            cpuMs: median(r.map((x) => x.cpuMs)),
            speedUp: summary(r.map((x, i) => seq[i].wallMs / x.wallMs)),
            floorRatio: summary(r.map((x, i) => floor[i].wallMs / x.wallMs)),
          };
        }),
      });
    }
    return {
      emulator: emulator.version,
      events,
      segments: keys.length,
      segmentBytes,
      writeSeconds: write.wallMs / 1000,
      reps,
      concurrencies,
      settings,
    };
  } finally {
    await proxy.stop();
    await emulator.stop();
  }
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const f = (n, d = 2) => n.toFixed(d);
const rng = (s, d = 2, k = 1) => `${f(s.median / k, d)} (${f(s.min / k, d)}–${f(s.max / k, d)})`;

export function renderS3Parallel(r, meta) {
  const m = meta.machine;
  const seqC = r.concurrencies[0];
  const lines = [
    `### Verifying a ${int(r.events)}-event log from the emulator: parallel reads vs a sequential walk`,
    '',
    `Measured ${meta.date} by \`node bench/s3-parallel.mjs${meta.argv.length ? ` ${meta.argv.join(' ')}` : ''}\`${meta.commit ? ` at commit \`${meta.commit}\`` : ''}, against ${r.emulator} on loopback, in ${f(meta.seconds / 60, 1)} minutes.`,
    `Machine: ${m.cpu}, ${m.cores} cores (shared with the emulator), ${m.ramGiB} GiB RAM; Node ${m.node}. Load average ${m.loadAverage.join(' / ')} at the start, ${meta.loadAverageEnd.join(' / ')} at the end.`,
    '',
    `${int(r.events)} ~1 KB sample events written by the archiver straight into an Object Lock bucket (default limits: ${r.segments} segments, ${f(r.segmentBytes / r.segments / 2 ** 20)} MiB each, ${f(r.segmentBytes / 2 ** 30)} GiB in all; written in ${f(r.writeSeconds, 0)} s). Each verification lists every version, reads every segment by version id with its HEAD (lock and checksum) and checks everything; wall time, median (min–max) of ${r.reps} rotations. Speed-up = concurrency ${seqC} time / this time, per rotation. Download floor = GetObject of every segment, ${FLOOR_CONCURRENCY} at a time, no checks; floor ratio = floor time / this time.`,
    '',
    '| Simulated latency per request | Concurrency | Verification | Events/s | Speed-up vs sequential | Floor ratio |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const s of r.settings) {
    for (const c of s.byConcurrency)
      lines.push(
        `| ${s.latency === 0 ? 'none (loopback)' : `${s.latency} ms`} | ${c.concurrency}${c.concurrency === seqC ? ' (sequential)' : ''} | ${rng(c.wallMs, 1, 1000)} s | ${int(r.events / (c.wallMs.median / 1000))} | ${c.concurrency === seqC ? '1 (base)' : `${rng(c.speedUp)}×`} | ${rng(c.floorRatio)} |`,
      );
    lines.push(
      `| ${s.latency === 0 ? 'none (loopback)' : `${s.latency} ms`} | download floor (${FLOOR_CONCURRENCY}) | ${rng(s.floorMs, 1, 1000)} s | ${int(r.events / (s.floorMs.median / 1000))} | | |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

function gitCommit() {
  try {
    const git = (...a) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no')
      ? `${head}, with uncommitted changes`
      : head;
  } catch {
    return undefined;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const list = (v) => (v === undefined ? undefined : String(v).split(',').map(Number));
  const started = Date.now();
  const machine = machineInfo();
  const result = await benchS3Parallel({
    events: args.events,
    concurrencies: list(args.concurrency),
    latencies: list(args.latencies),
    reps: args.reps,
  });
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    argv: process.argv
      .slice(2)
      .filter((a, i, all) => a !== '--out' && all[i - 1] !== '--out' && a !== '--doc'),
    commit: gitCommit(),
    seconds: (Date.now() - started) / 1000,
    machine,
    loadAverageEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const markdown = renderS3Parallel(result, meta);
  process.stdout.write(`${markdown}\n`);
  const md = args.md ?? join(ROOT, 'bench', 'results', 's3-parallel.md');
  mkdirSync(dirname(md), { recursive: true });
  writeFileSync(md, markdown);
  if (args.doc) writeDocSection('s3-parallel', markdown);
  if (args.out) writeFileSync(args.out, `${JSON.stringify({ meta, result, markdown }, null, 2)}\n`);
}
