#!/usr/bin/env node
/**
 * A verification worker's start-up (issue 14, "zod in the workers"): for two builds, interleaved,
 * one fresh process per run, the wall and CPU time (ms, the process: all threads) from starting a
 * one-thread SegmentCheckPool to the worker being ready (its module graph loaded), and to the
 * first result (one segment checked), and the process's RSS then. Each process has loaded
 * dist/core/entry.js (zod) before the clock starts, as the CLI's main thread has, so only the
 * worker's own loading is counted.
 *
 *   node bench/verify-worker-start.mjs --segment FILE [--base DIR] [--dist DIR] [--reps 9]
 *   node bench/verify-worker-start.mjs --child --dist DIR --segment FILE   (internal)
 *
 * `--base` and `--dist` are checkouts with a build (`npm run build`); `--dist` defaults to this
 * one. Output: one JSON line per run, then the medians and ranges per build.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, summary } from './lib/measure.mjs';

const SELF = fileURLToPath(import.meta.url);
const args = parseArgs();

async function child(dist, segment) {
  const load = (m) => import(pathToFileURL(join(dist, 'dist', m)).href);
  await load('core/entry.js');
  const { SegmentCheckPool } = await load('app/verify-workers.js');
  const bytes = new Uint8Array(readFileSync(segment));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const since = () => {
    const c = process.cpuUsage(cpu0);
    return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
  };
  const pool = new SegmentCheckPool({ workers: 1 });
  await pool.warm();
  const ready = since();
  const { check } = await pool.check(bytes, { trustedKeys: [] });
  const first = since();
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  await pool.close();
  if (check === undefined) throw new Error(`${segment} is not a segment`);
  return { ready, first, rssMiB };
}

if (args.child) {
  console.log(JSON.stringify(await child(args.dist, args.segment)));
} else {
  const builds = { dist: resolve(args.dist ?? '.') };
  if (args.base) builds.base = resolve(args.base);
  const runs = Object.fromEntries(Object.keys(builds).map((k) => [k, []]));
  for (let rep = 0; rep < (args.reps ?? 9); rep++) {
    const order = Object.keys(builds);
    if (rep % 2) order.reverse();
    for (const name of order) {
      const out = execFileSync(
        process.execPath,
        [SELF, '--child', '--dist', builds[name], '--segment', args.segment],
        { encoding: 'utf8' },
      );
      const run = JSON.parse(out);
      runs[name].push(run);
      console.log(JSON.stringify({ build: name, ...run }));
    }
  }
  const fmt = ({ median, min, max }) =>
    `${median.toFixed(0)} (${min.toFixed(0)}–${max.toFixed(0)})`;
  for (const [name, rs] of Object.entries(runs)) {
    const s = (f) => fmt(summary(rs.map(f)));
    console.log(
      `${name} (${builds[name]}): ready ${s((r) => r.ready.ms)} ms, ${s((r) => r.ready.cpuMs)} ms CPU;` +
        ` first result ${s((r) => r.first.ms)} ms, ${s((r) => r.first.cpuMs)} ms CPU;` +
        ` RSS ${s((r) => r.rssMiB)} MiB`,
    );
  }
}
