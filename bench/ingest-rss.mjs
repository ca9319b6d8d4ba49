#!/usr/bin/env node
/**
 * Ingest memory against segment size: `auditlock ingest` of the same JSON Lines file (~1 KB
 * events) into a fresh folder store at each `--max-events`, one process each, peak RSS from the
 * process's own resource usage (lib/child-run.mjs), with wall and CPU time and segments written,
 * and which part of the process it was: the highest V8 heap and ArrayBuffer memory sampled
 * (lib/memory-peaks.mjs). The sizes are run in rotated order each repetition. A floor in the same
 * run: the RSS of an ingest of 10 events (Node, the CLI's modules, a key, one segment). Target of
 * issue 14: peak RSS at most 128 MiB at every size from 64 to 4,096 events per segment.
 * `--semi-space MIB` runs the CLI with `--max-semi-space-size=MIB` (V8's young generation is two
 * such spaces; Node's default is 16 MiB on 64-bit), to measure heap sizing.
 *
 *   node bench/ingest-rss.mjs [--events 100000] [--sizes 64,256,1024,4096] [--reps 2]
 *                             [--semi-space MIB] [--long-events 1000000] [--out result.json]
 *                             [--md FILE] [--doc]
 *
 * `--long-events N` (0: none) adds one run of N events at the smallest and at the largest size.
 * Its input (~1 KB per event) is written to the temp folder in place of the shorter one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, runMeasured } from './lib/child-run.mjs';
import { writeDocSection } from './lib/doc-section.mjs';
import { writeEventFile } from './lib/event-file.mjs';
import { machineInfo } from './lib/machine.mjs';
import { log, parseArgs, summary } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

export const RSS_TARGET_MIB = 128;

const USAGE_HOOK = fileURLToPath(new URL('./lib/usage-hook.mjs', import.meta.url));
const MEMORY_HOOK = fileURLToPath(new URL('./lib/memory-peaks.mjs', import.meta.url));

/** `auditlock ARGS` measured like lib/child-run.mjs's auditlockCli, plus its memory peaks. */
async function measuredCli(args, work, nodeFlags) {
  const memoryFile = join(work, 'memory.json');
  const run = await runMeasured(
    process.execPath,
    [...nodeFlags, '--import', USAGE_HOOK, '--import', MEMORY_HOOK, CLI, ...args],
    { usageFile: join(work, 'usage.json'), env: { AUDITLOCK_BENCH_MEMORY: memoryFile } },
  );
  return { ...run, memory: JSON.parse(readFileSync(memoryFile, 'utf8')) };
}

export async function benchIngestRss({
  events = 100_000,
  sizes = [64, 256, 1024, 4096],
  reps = 2,
  semiSpaceMiB,
  longEvents = 1_000_000,
}) {
  const nodeFlags = semiSpaceMiB === undefined ? [] : [`--max-semi-space-size=${semiSpaceMiB}`];
  const work = makeTempDir('ingest-rss');
  try {
    const input = join(work, 'events.jsonl');
    const tiny = join(work, 'ten.jsonl');
    writeEventFile(input, events);
    writeEventFile(tiny, 10);
    execFileSync(process.execPath, [CLI, 'keygen', '--out', join(work, 'key')], {
      stdio: 'ignore',
    });
    const key = join(work, 'key', 'signing-key.pem');
    const ingest = async (file, maxEvents) => {
      const dir = join(work, 'store');
      try {
        return await measuredCli(
          ['ingest', dir, file, '--key', key, '--json', '--max-events', String(maxEvents)],
          work,
          nodeFlags,
        );
      } finally {
        removeTempDir(dir);
      }
    };
    const runs = Object.fromEntries(sizes.map((s) => [s, []]));
    const floor = [];
    for (let r = 0; r < reps; r++) {
      floor.push(await ingest(tiny, 4096));
      const order = sizes.map((_, i) => sizes[(i + r) % sizes.length]);
      for (const size of order) {
        const x = await ingest(input, size);
        if (x.json.archived !== events) throw new Error(`archived ${x.json.archived}`);
        runs[size].push(x);
        log(
          `ingest-rss ${size} events/segment, rep ${r + 1}/${reps}: peak RSS ${(x.maxRssKiB / 1024).toFixed(0)} MiB (heap ${x.memory.heapMiB.toFixed(0)}, array buffers ${x.memory.arrayBuffersMiB.toFixed(0)}), ${Math.round((events / x.wallMs) * 1000)} events/s, ${x.json.segments} segments`,
        );
      }
    }
    // A long run at the smallest and the largest size, once each: V8 grows the young generation
    // from what survived its minor collections over the whole run, so peak RSS rises with the
    // length of a run as well as with the segment size (docs/PERFORMANCE.md, third pass).
    const long = [];
    if (longEvents > 0) {
      removeTempDir(input);
      const longInput = join(work, 'long.jsonl');
      writeEventFile(longInput, longEvents);
      for (const size of [Math.min(...sizes), Math.max(...sizes)]) {
        const x = await ingest(longInput, size);
        if (x.json.archived !== longEvents) throw new Error(`archived ${x.json.archived}`);
        long.push({
          maxEvents: size,
          maxRssMiB: x.maxRssKiB / 1024,
          heapMiB: x.memory.heapMiB,
          arrayBuffersMiB: x.memory.arrayBuffersMiB,
          cpuUsPerEvent: (x.cpuMs * 1000) / longEvents,
          segments: x.json.segments,
        });
        log(
          `ingest-rss long run ${size} events/segment: peak RSS ${(x.maxRssKiB / 1024).toFixed(0)} MiB (heap ${x.memory.heapMiB.toFixed(0)}), ${x.json.segments} segments`,
        );
      }
      removeTempDir(longInput);
    }
    return {
      events,
      reps,
      semiSpaceMiB,
      longEvents,
      long,
      targetMiB: RSS_TARGET_MIB,
      floorRssMiB: summary(floor.map((x) => x.maxRssKiB / 1024)),
      sizes: sizes.map((size) => ({
        maxEvents: size,
        maxRssMiB: summary(runs[size].map((x) => x.maxRssKiB / 1024)),
        heapMiB: summary(runs[size].map((x) => x.memory.heapMiB)),
        arrayBuffersMiB: summary(runs[size].map((x) => x.memory.arrayBuffersMiB)),
        eventsPerSec: summary(runs[size].map((x) => (events / x.wallMs) * 1000)),
        cpuUsPerEvent: summary(runs[size].map((x) => (x.cpuMs * 1000) / events)),
        segments: runs[size][0].json.segments,
      })),
    };
  } finally {
    removeTempDir(work);
  }
}

const f0 = (n) => Math.round(n).toLocaleString('en-US');
const range = (s, f = f0) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

export function renderIngestRss(result, meta) {
  const m = meta.machine;
  return [
    '### Ingest peak RSS against segment size (`auditlock ingest`, one process per run)',
    '',
    `${f0(result.events)} events of ~1 KB from a file, ${result.reps} repetition(s) with the sizes in rotated order; median (min–max). Floor: an ingest of 10 events, ${range(result.floorRssMiB)} MiB. Heap and array buffers: the highest V8 heap (committed) and ArrayBuffer memory sampled every 25 ms, the two parts of the RSS that grow with the segment size. ${result.semiSpaceMiB === undefined ? "V8's default young generation." : `CLI run with \`--max-semi-space-size=${result.semiSpaceMiB}\`.`} Measured ${meta.date} on ${m.cpu}, ${m.cores} cores, Node ${m.node}; load average ${m.loadAverage.join(' / ')} at the start, ${meta.loadAverageEnd.join(' / ')} at the end (1 / 5 / 15 min; above zero means other processes competed for the cores).`,
    '',
    `| events per segment | peak RSS MiB (target ≤ ${result.targetMiB}) | heap MiB | array buffers MiB | events/s | CPU µs per event | segments |`,
    '|---|---|---|---|---|---|---|',
    ...result.sizes.map(
      (s) =>
        `| ${f0(s.maxEvents)} | ${range(s.maxRssMiB)} ${s.maxRssMiB.max <= result.targetMiB ? '(met)' : '(missed)'} | ${range(s.heapMiB)} | ${range(s.arrayBuffersMiB)} | ${range(s.eventsPerSec)} | ${range(s.cpuUsPerEvent, (n) => n.toFixed(1))} | ${f0(s.segments)} |`,
    ),
    '',
    ...(result.long?.length
      ? [
          `A long run, ${f0(result.longEvents)} events, one run at each end of the range:`,
          '',
          `| events per segment | peak RSS MiB (target ≤ ${result.targetMiB}) | heap MiB | array buffers MiB | CPU µs per event | segments |`,
          '|---|---|---|---|---|---|',
          ...result.long.map(
            (s) =>
              `| ${f0(s.maxEvents)} | ${f0(s.maxRssMiB)} ${s.maxRssMiB <= result.targetMiB ? '(met)' : '(missed)'} | ${f0(s.heapMiB)} | ${f0(s.arrayBuffersMiB)} | ${s.cpuUsPerEvent.toFixed(1)} | ${f0(s.segments)} |`,
          ),
          '',
        ]
      : []),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const machine = machineInfo();
  const result = await benchIngestRss({
    events: args.events,
    reps: args.reps,
    sizes: typeof args.sizes === 'string' ? args.sizes.split(',').map(Number) : undefined,
    semiSpaceMiB: typeof args['semi-space'] === 'number' ? args['semi-space'] : undefined,
    longEvents: args['long-events'],
  });
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine,
    loadAverageEnd: machineInfo().loadAverage,
  };
  const markdown = renderIngestRss(result, meta);
  process.stdout.write(`${markdown}\n`);
  if (args.md) {
    mkdirSync(dirname(args.md), { recursive: true });
    writeFileSync(args.md, markdown);
  }
  if (args.doc) writeDocSection('ingest-rss', markdown);
  if (args.out) writeFileSync(args.out, `${JSON.stringify({ meta, result, markdown }, null, 2)}\n`);
}
