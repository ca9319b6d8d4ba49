#!/usr/bin/env node
/**
 * `pull` throughput from the emulator (issue 11): pullBundle of a whole log from an S3 Object Lock
 * store into a fresh folder, with parallel downloads (concurrency 8, the default) against a
 * sequential pull (concurrency 1: one segment at a time, as CloudTrail's validator downloads).
 * Runs are interleaved (1, 8, 1, 8, ... with the order rotated each repetition), each into its own
 * new folder, through the counting proxy of bench/lib/s3-emulator.mjs (which can add a per-request
 * latency, `--latency MS`); the ratio is taken within a repetition (sequential / parallel time).
 * Every pulled bundle is verified (not timed) so a fast broken pull cannot count.
 *
 *   npm run build && node bench/pull.mjs [--events 100000] [--max-events N] [--reps 3] [--latency 0]
 *     [--out FILE]
 *
 * `--max-events` sets the segment size (default 4,096 events): parallel downloads need segments
 * to run in parallel, so a small log at the default size shows little.
 *
 * Starts its own moto (scripts/moto.mjs) unless AWS_ENDPOINT_URL points at a loopback emulator.
 * Prints a JSON result on stdout (and writes it to --out).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderStore, generateKeyPair, LocalSigner, verifyStore } from './lib/dist.mjs';
import { eventStream } from './lib/events.mjs';
import { ingestLines } from './lib/fixture.mjs';
import { machineInfo } from './lib/machine.mjs';
import { log, median, parseArgs, summary, timed } from './lib/measure.mjs';
import { quietSdkNodeWarning, startCountingProxy, startEmulator } from './lib/s3-emulator.mjs';

quietSdkNodeWarning();
const load = (path) => import(new URL(`../dist/${path}`, import.meta.url).href);
const { pullBundle } = await load('app/pull.js');
const { S3Store } = await load('adapters/s3-store.js');
const { createS3Client } = await load('adapters/aws-config.js');
const { CreateBucketCommand } = await import('@aws-sdk/client-s3');

const REGION = 'us-east-1';

export async function benchPull({
  events = 100_000,
  reps = 3,
  latency = 0,
  maxEvents = undefined,
  concurrencies = [1, 8],
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
    log(`pull: archiving ${events} events into ${emulator.version}`);
    const { lineAt } = eventStream();
    await ingestLines({
      store: storeVia(emulator.endpoint),
      signer,
      count: events,
      lineAt,
      maxEvents,
    });
    const source = storeVia(proxy.url);
    proxy.setLatency(latency);

    let bytes = 0;
    let segments = 0;
    const pullOnce = async (concurrency) => {
      const out = mkdtempSync(join(tmpdir(), 'al-bench-pull-'));
      try {
        proxy.reset();
        const t = await timed(() =>
          pullBundle({ source, out, trustedKeys: trusted, selection: { by: 'seq' }, concurrency }),
        );
        const requests = Object.fromEntries(proxy.counts);
        const v = await verifyStore(new FolderStore(out), { trustedKeys: trusted, bundle: true });
        if (!v.ok || v.logs[0]?.entries !== events)
          throw new Error(`pulled bundle does not verify: ${JSON.stringify(v.logs)}`);
        bytes = v.logs[0].bytes;
        segments = v.logs[0].segments;
        return { ...t, requests };
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    };
    log('pull: warm-up');
    await pullOnce(8);
    const runs = new Map(concurrencies.map((c) => [c, []]));
    const ratios = [];
    for (let rep = 0; rep < reps; rep++) {
      const order = concurrencies.map((_, i) => concurrencies[(i + rep) % concurrencies.length]);
      for (const c of order) runs.get(c).push(await pullOnce(c));
      const [seq, par] = concurrencies.map((c) => runs.get(c).at(-1).wallMs);
      ratios.push(seq / par);
      log(
        `pull rep ${rep + 1}/${reps}: ${concurrencies.map((c) => `c=${c} ${(runs.get(c).at(-1).wallMs / 1000).toFixed(2)} s`).join(', ')}`,
      );
    }
    return {
      machine: machineInfo(),
      emulator: emulator.version,
      events,
      segments,
      bytes,
      latencyMs: latency,
      byConcurrency: concurrencies.map((c) => {
        const r = runs.get(c);
        const wall = summary(r.map((x) => x.wallMs));
        return {
          concurrency: c,
          wallMs: wall,
          mibPerSecond: bytes / 1024 / 1024 / (wall.median / 1000),
          segmentsPerSecond: segments / (wall.median / 1000),
          requests: r.at(-1).requests,
        };
      }),
      ratioSequentialOverParallel: summary(ratios),
      ratioMedian: median(ratios),
    };
  } finally {
    await proxy.stop();
    await emulator.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const result = await benchPull({
    events: args.events ?? 100_000,
    reps: args.reps ?? 3,
    latency: args.latency ?? 0,
    maxEvents: args['max-events'],
  });
  const text = `${JSON.stringify(result, null, 2)}\n`;
  if (args.out) writeFileSync(args.out, text);
  process.stdout.write(text);
}
