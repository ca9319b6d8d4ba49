#!/usr/bin/env node
/**
 * Verification on worker threads (issue 14 item 2): `verifyStore` with `workers: N` on a folder
 * store, N from 1 (the main thread, today's path) up, each run a process of its own so that its
 * peak RSS is its own. Runs are interleaved, the order of N rotated every repetition, and each
 * repetition's throughput is a ratio against its own `workers: 1` run (the floor measured in the
 * same run, on the same machine). A second part verifies a long log (default 1,000,000 events)
 * once per N and reports peak RSS against the 256 MiB target. The logs are written once by the
 * archiver (identity encoding, default 4,096 events per segment) into temp folders removed
 * afterwards; files are read through the page cache.
 *
 *   node bench/verify-workers.mjs [--events 200000] [--workers 1,2,4] [--reps 3]
 *       [--rss-events 1000000] [--rss-workers 1,2,8] [--out result.json] [--md FILE] [--doc]
 *   node bench/verify-workers.mjs --child --dir STORE --spki BASE64 --workers N   (internal)
 *
 * Beside each repetition, a control: the same number of threads doing nothing but SHA-256 of
 * 1 KiB buffers (no auditlock code), so the report says how far the machine itself scaled from 1
 * to N threads at that moment (other processes share the cores).
 *
 * `--rss-events 0` skips the memory part. `--doc` rewrites the verify-workers section of
 * docs/PERFORMANCE.md; `--md` writes the report to a file (bench/run.mjs's convention).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { writeDocSection } from './lib/doc-section.mjs';
import { machineInfo } from './lib/machine.mjs';
import { log, median, parseArgs, summary } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

export const RSS_LIMIT_KIB = 256 * 1024;
const SELF = fileURLToPath(import.meta.url);

/** Runs a node script in a child process and parses the one JSON line it prints. */
function node(script, args) {
  return JSON.parse(
    execFileSync(process.execPath, [script, ...args.map(String)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    }),
  );
}

const CONTROL_HASHES = 150_000;

/**
 * Wall and CPU time (ms, this process: all threads) of `threads` worker threads each hashing
 * CONTROL_HASHES buffers at once.
 */
async function controlMs(threads) {
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    const { hash } = require('node:crypto');
    const data = new Uint8Array(1024).fill(7); let x = 0;
    for (let i = 0; i < workerData; i++) { data[0] = i & 0xff; x ^= hash('sha256', data, 'binary').charCodeAt(0); }
    parentPort.postMessage(x);`;
  const ready = [];
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < threads; i++) {
    const w = new Worker(code, { eval: true, workerData: CONTROL_HASHES });
    ready.push(new Promise((resolve, reject) => w.once('message', resolve).once('error', reject)));
  }
  await Promise.all(ready);
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/** Writes a log of `events` events into a new temp folder (in a child: this process stays small). */
function buildLog(label, events) {
  const dir = makeTempDir(label);
  log(`verify-workers: writing a ${events.toLocaleString('en-US')}-event log`);
  const built = node(fileURLToPath(new URL('verify-rss.mjs', import.meta.url)), [
    '--build',
    dir,
    '--events',
    events,
  ]);
  return { dir, ...built };
}

function verifyIn(dir, spki, workers, events) {
  const r = node(SELF, ['--child', '--dir', dir, '--spki', spki, '--workers', workers]);
  if (!r.ok || r.entries !== events) throw new Error(`verify failed: ${JSON.stringify(r)}`);
  return r;
}

export async function benchVerifyWorkers({
  events = 200_000,
  workers = [1, 2, 4],
  reps = 3,
  rssEvents = 1_000_000,
  rssWorkers = [1, 2, 8],
} = {}) {
  const counts = [...new Set([1, ...workers])].sort((a, b) => a - b);
  const loadStart = os.loadavg();
  const scaling = { events, reps, runs: [] };
  const log1 = buildLog('workers', events);
  try {
    verifyIn(log1.dir, log1.spki, 1, events); // warm-up: page cache, code cache
    for (let rep = 0; rep < reps; rep++) {
      // Rotated order, so no N always runs first (or last) in a repetition.
      const order = counts.map((_, i) => counts[(i + rep) % counts.length]);
      const byN = {};
      for (const n of order) {
        byN[n] = verifyIn(log1.dir, log1.spki, n, events);
        byN[n].control = await controlMs(n);
      }
      scaling.runs.push(byN);
      log(
        `verify-workers rep ${rep + 1}/${reps}: ${counts
          .map((n) => `${n}: ${rate(events, byN[n].wallMs)}/s`)
          .join(', ')}`,
      );
    }
  } finally {
    removeTempDir(log1.dir);
  }
  scaling.rows = counts.map((n) => {
    const runs = scaling.runs.map((r) => r[n]);
    return {
      workers: n,
      eventsPerSec: median(runs.map((r) => (events / r.wallMs) * 1000)),
      ratio: summary(scaling.runs.map((r) => r[1].wallMs / r[n].wallMs)),
      // Work done per unit of wall time by N hashing threads, against one thread's.
      control: summary(scaling.runs.map((r) => (n * r[1].control.wallMs) / r[n].control.wallMs)),
      // CPU per hash with N threads against one: above 1, the cores ran slower per thread.
      controlCpu: median(scaling.runs.map((r) => r[n].control.cpuMs / (n * r[1].control.cpuMs))),
      cpuUsPerEvent: median(runs.map((r) => (r.cpuMs * 1000) / events)),
      maxRssMiB: Math.max(...runs.map((r) => r.maxRssKiB)) / 1024,
    };
  });
  let memory;
  if (rssEvents > 0) {
    const log2 = buildLog('workers-rss', rssEvents);
    try {
      memory = { events: rssEvents, storedBytes: log2.storedBytes, rows: [] };
      for (const n of [...new Set(rssWorkers)].sort((a, b) => a - b)) {
        const r = verifyIn(log2.dir, log2.spki, n, rssEvents);
        log(
          `verify-workers rss, ${n} worker(s): ${rate(rssEvents, r.wallMs)}/s, peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB`,
        );
        memory.rows.push({
          workers: n,
          eventsPerSec: (rssEvents / r.wallMs) * 1000,
          maxRssMiB: r.maxRssKiB / 1024,
          vmHwmMiB: r.vmHwmKiB === undefined ? undefined : r.vmHwmKiB / 1024,
          ok: r.maxRssKiB <= RSS_LIMIT_KIB,
        });
      }
    } finally {
      removeTempDir(log2.dir);
    }
  }
  return {
    scaling,
    memory,
    loadAverage: { start: loadStart, end: os.loadavg() },
    limitMiB: RSS_LIMIT_KIB / 1024,
  };
}

const rate = (events, ms) => Math.round((events / ms) * 1000).toLocaleString('en-US');
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const load = (l) => l.map((x) => x.toFixed(1)).join(' / ');

/** Threads verifyStore starts for `workers` (workerThreads: no more than the cores; 1 = in-thread). */
const threadsOf = (workers, cores) => {
  const n = Math.max(1, Math.min(workers, cores));
  return n === 1 ? '0 (in-thread)' : String(n);
};

export function renderVerifyWorkers(result, meta) {
  const { scaling, memory } = result;
  const m = meta.machine;
  const lines = [
    '### Verification on worker threads: scaling with workers and peak RSS',
    '',
    `Measured ${meta.date} (commit ${meta.commit ?? 'unknown'}) on ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, Node ${m.node}; load average ${load(result.loadAverage.start)} at the start, ${load(result.loadAverage.end)} at the end (1/5/15 min). \`node bench/verify-workers.mjs ${meta.argv.join(' ')}\`.`,
    '',
    `Scaling: ${scaling.events.toLocaleString('en-US')} events (identity, 4,096 per segment), ${scaling.reps} interleaved repetitions, each process verifying once; ratio = wall time with 1 worker / wall time with N, per repetition (median, range). CPU is the process's (all threads). Control: ${CONTROL_HASHES.toLocaleString('en-US')} SHA-256 of 1 KiB per thread, N threads at once, run right after each verification; its ratio is how much more work per second N threads got done than one, i.e. the most the machine could give at that moment.`,
    '',
    '| workers asked | threads started | events/s (median) | throughput vs 1 worker | control: N hashing threads vs 1 | control CPU per hash vs 1 | CPU µs/event | peak RSS |',
    '|---:|---:|---:|---|---|---:|---:|---:|',
    ...scaling.rows.map(
      (r) =>
        `| ${r.workers} | ${threadsOf(r.workers, m.cores)} | ${Math.round(r.eventsPerSec).toLocaleString('en-US')} | ${f2(r.ratio.median)}× (${f2(r.ratio.min)}–${f2(r.ratio.max)}) | ${f2(r.control.median)}× (${f2(r.control.min)}–${f2(r.control.max)}) | ${f2(r.controlCpu)}× | ${f1(r.cpuUsPerEvent)} | ${Math.round(r.maxRssMiB)} MiB |`,
    ),
  ];
  if (memory)
    lines.push(
      '',
      `Memory: ${memory.events.toLocaleString('en-US')} events (${(memory.storedBytes / 1e9).toFixed(2)} GB stored), one run per N; target peak RSS ≤ ${result.limitMiB} MiB whatever N.`,
      '',
      '| workers asked | threads started | events/s | peak RSS (maxRSS) | VmHWM | ≤ 256 MiB |',
      '|---:|---:|---:|---:|---:|---|',
      ...memory.rows.map(
        (r) =>
          `| ${r.workers} | ${threadsOf(r.workers, m.cores)} | ${Math.round(r.eventsPerSec).toLocaleString('en-US')} | ${Math.round(r.maxRssMiB)} MiB | ${r.vmHwmMiB === undefined ? '–' : `${Math.round(r.vmHwmMiB)} MiB`} | ${r.ok ? 'yes' : 'NO'} |`,
      ),
    );
  return lines.join('\n');
}

/** One verification in this process (the child side). Prints one JSON line. */
async function child(args) {
  const { FolderStore, verifyStore } = await import('./lib/dist.mjs');
  let findings = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await verifyStore(new FolderStore(args.dir), {
    trustedKeys: [{ spki: new Uint8Array(Buffer.from(args.spki, 'base64')) }],
    workers: args.workers,
    onFinding: () => findings++,
  });
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    `${JSON.stringify({
      ok: result.ok && findings === 0,
      entries: result.logs.reduce((s, l) => s + l.entries, 0),
      wallMs,
      cpuMs: (used.user + used.system) / 1000,
      maxRssKiB: process.resourceUsage().maxRSS,
      vmHwmKiB: vmHwmKiB(),
    })}\n`,
  );
}

/** Peak RSS of this address space from /proc (Linux), or undefined elsewhere. */
function vmHwmKiB() {
  try {
    const m = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: fileURLToPath(new URL('../', import.meta.url)),
      encoding: 'utf8',
    }).trim();
  } catch {
    return undefined;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  if (args.child) await child(args);
  else {
    const list = (v, d) => (v === undefined ? d : String(v).split(',').filter(Boolean).map(Number));
    const result = await benchVerifyWorkers({
      events: args.events,
      workers: list(args.workers, undefined),
      reps: args.reps,
      rssEvents: args['rss-events'],
      rssWorkers: list(args['rss-workers'], undefined),
    });
    const meta = {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      commit: gitCommit(),
      machine: machineInfo(),
      argv: argv.filter(
        (a, i, all) =>
          a !== '--doc' &&
          !['--out', '--md'].includes(all[i - 1]) &&
          !['--out', '--md'].includes(a),
      ),
    };
    const markdown = renderVerifyWorkers(result, meta);
    process.stdout.write(`${markdown}\n`);
    if (args.md) writeFileSync(args.md, `${markdown}\n`);
    if (args.doc) writeDocSection('verify-workers', markdown);
    if (args.out)
      writeFileSync(args.out, `${JSON.stringify({ meta, result, markdown }, null, 2)}\n`);
  }
}
