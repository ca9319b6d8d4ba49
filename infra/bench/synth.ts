/**
 * Synthesis time of the example deployment, in process (what `cdk synth` spends after the CLI has
 * started the app): with and without the cdk-nag packs, wall and CPU time, median of N runs.
 * Usage: npx tsx bench/synth.ts [runs]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { readConfigFile } from '../src/config.js';

const runs = Number(process.argv[2] ?? 3);
const config = readConfigFile(join(import.meta.dirname, '..', 'config', 'example.json'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** One synthesis into a fresh folder: [wall s, CPU s]. */
function once(nag: boolean): [number, number] {
  const outdir = mkdtempSync(join(tmpdir(), 'auditlock-synth-'));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  buildApp(config, { nag, appProps: { outdir } }).app.synth();
  const c1 = process.cpuUsage(c0);
  rmSync(outdir, { recursive: true, force: true });
  return [(performance.now() - t0) / 1000, (c1.user + c1.system) / 1e6];
}

const t0 = performance.now();
const first = once(true); // cold: module code paths JIT-compiled, assets fingerprinted
const results = { false: [] as [number, number][], true: [] as [number, number][] };
for (let i = 0; i < runs; i++)
  for (const nag of i % 2 ? [true, false] : [false, true]) results[`${nag}`].push(once(nag));
console.log(
  `first synthesis in a fresh process (with cdk-nag): wall ${first[0].toFixed(1)} s, CPU ${first[1].toFixed(1)} s`,
);
for (const nag of [false, true]) {
  const r = results[`${nag}`];
  console.log(
    `warm, ${nag ? 'with cdk-nag (AwsSolutions + NIST 800-53 r5)' : 'without cdk-nag'}: wall ${median(r.map((x) => x[0])).toFixed(1)} s, CPU ${median(r.map((x) => x[1])).toFixed(1)} s (median of ${runs})`,
  );
}
console.log(
  `total ${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${loadavg()[0]?.toFixed(1)}`,
);
