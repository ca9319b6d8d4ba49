#!/usr/bin/env node
/**
 * OCSF export throughput: `exportOcsf` over a `FolderStore` log the archiver wrote (the events of
 * bench/verify.mjs), against the verify floor measured in the same process on the same stored
 * entries (lib/fixture.mjs: one SHA-256 and one JSON.parse per entry). Each repetition runs, in a
 * rotated order: the floor; export with a sink that drops the rows (reading, checking, mapping);
 * export to JSON Lines files; export to Parquet files (each into a fresh folder, files synced as
 * the command writes them). Ratio = floor time / export time (1 would be as fast as the floor).
 *
 *   node bench/export.mjs [--events 50000] [--reps 3] [--out result.json]
 */
import { writeFileSync } from 'node:fs';
import { FolderStore } from './lib/dist.mjs';
import { loadDist as load } from './lib/dist-url.mjs';
import { eventStream } from './lib/events.mjs';
import { ingestLines, makeKey, readEntries, verifyFloor } from './lib/fixture.mjs';
import { machineInfo } from './lib/machine.mjs';
import { log, median, parseArgs, summary, timed } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

const { exportOcsf } = await load('app/export.js');
const { ExportFolderWriter } = await load('adapters/export-files.js');
const { DEFAULT_OCSF_CONFIG } = await load('core/ocsf-config.js');

export async function benchExport({ events = 50_000, reps = 3 } = {}) {
  const { signer, trusted } = await makeKey();
  const { lineAt } = eventStream();
  const dir = makeTempDir('export-store');
  const outs = [];
  try {
    log(`export: writing a ${events}-event log`);
    await ingestLines({ dir, signer, count: events, lineAt });
    const entries = readEntries(dir);
    const store = new FolderStore(dir);
    const exportOnce = (format) =>
      timed(async () => {
        const out = format ? makeTempDir(`export-${format}`) : undefined;
        if (out) outs.push(out);
        const writer = out ? new ExportFolderWriter(out, format) : undefined;
        const r = await exportOcsf(
          store,
          {
            trustedKeys: [trusted],
            config: DEFAULT_OCSF_CONFIG,
            productVersion: 'bench',
            output: format ?? 'jsonl',
          },
          writer ? (row, at) => writer.write(row, at) : () => undefined,
        );
        await writer?.close();
        if (r.rows !== events) throw new Error(`exported ${r.rows} rows, expected ${events}`);
        if (out) {
          removeTempDir(out);
          outs.pop();
        }
      });
    // Warm-up.
    verifyFloor(entries.slice(0, 10_000));
    await exportOnce(undefined);

    const steps = {
      floor: () => timed(() => verifyFloor(entries)),
      map: () => exportOnce(undefined),
      jsonl: () => exportOnce('jsonl'),
      parquet: () => exportOnce('parquet'),
    };
    const names = Object.keys(steps);
    const runs = [];
    for (let r = 0; r < reps; r++) {
      const run = {};
      // Rotate the order each repetition, so no step always runs on a warmer or busier machine.
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + r) % names.length];
        run[name] = await steps[name]();
      }
      runs.push(run);
      log(
        `export rep ${r + 1}/${reps}: floor ${rate(events, run.floor.wallMs)}/s, map ${rate(events, run.map.wallMs)}/s, jsonl ${rate(events, run.jsonl.wallMs)}/s, parquet ${rate(events, run.parquet.wallMs)}/s`,
      );
    }
    const line = (name) => ({
      eventsPerSec: median(runs.map((x) => (events / x[name].wallMs) * 1000)),
      cpuUsPerEvent: median(runs.map((x) => (x[name].cpuMs * 1000) / events)),
      ratio: summary(runs.map((x) => x.floor.wallMs / x[name].wallMs)),
    });
    return {
      machine: machineInfo(),
      events,
      reps,
      floor: line('floor'),
      map: line('map'),
      jsonl: line('jsonl'),
      parquet: line('parquet'),
    };
  } finally {
    removeTempDir(dir);
    for (const out of outs) removeTempDir(out);
  }
}

function rate(n, ms) {
  return Math.round((n / ms) * 1000).toLocaleString('en-US');
}

/** The result as the Markdown table of its PERFORMANCE.md section. */
export function renderExport(r) {
  const row = (label, x) =>
    `| ${label} | ${Math.round(x.eventsPerSec).toLocaleString('en-US')} | ${x.cpuUsPerEvent.toFixed(1)} | ${x.ratio.median.toFixed(3)} (${x.ratio.min.toFixed(3)}–${x.ratio.max.toFixed(3)}) |`;
  return [
    `${r.events.toLocaleString('en-US')} events, ${r.reps} repetitions in rotated order (\`node bench/export.mjs\`); ${r.machine.cpu}, ${r.machine.cores} cores, load average ${r.machine.loadAverage.map((l) => l.toFixed(1)).join(' ')} at the start.`,
    '',
    '| step | events/s | CPU µs per event | ratio to the verify floor (median, range) |',
    '|---|---:|---:|---:|',
    row('verify floor (SHA-256 + JSON.parse per entry)', r.floor),
    row('export: read, check, map (rows dropped)', r.map),
    row('export to JSON Lines files', r.jsonl),
    row('export to Parquet files', r.parquet),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const result = await benchExport({ events: args.events, reps: args.reps });
  const markdown = renderExport(result);
  process.stderr.write(`${markdown}\n`);
  const json = `${JSON.stringify({ ...result, markdown }, null, 2)}\n`;
  if (args.out) writeFileSync(args.out, json);
  else process.stdout.write(json);
}
