#!/usr/bin/env node
/**
 * Ingest throughput: ~1 KB JSON Lines events archived into a folder store (a temp folder) through
 * the real archiver, as `auditlock ingest` does it, against the ingest floor measured in the same
 * process on the same lines (lib/fixture.mjs). Each repetition runs floor, identity, floor, gzip,
 * so every ingest run has a floor run next to it; ratios are per pair, then the median is taken.
 *
 *   node bench/ingest.mjs [--events 200000] [--reps 3] [--out result.json]
 */
import { writeFileSync } from 'node:fs';
import { makeEventLines } from './lib/events.mjs';
import { ingestFloor, ingestLines, makeKey, storedBytes } from './lib/fixture.mjs';
import { log, median, parseArgs, summary, timed } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

export const ENCODINGS = ['identity', 'gzip'];

export async function benchIngest({ events = 200_000, reps = 3 } = {}) {
  const { lines, bytes } = makeEventLines(events);
  const { signer } = await makeKey();
  const ingestOnce = async (encoding, slice = lines) => {
    const dir = makeTempDir(`ingest-${encoding}`);
    try {
      const t = await timed(() =>
        ingestLines({ dir, signer, count: slice.length, lineAt: (i) => slice[i], encoding }),
      );
      return { ...t, stored: storedBytes(dir) };
    } finally {
      removeTempDir(dir);
    }
  };
  // Warm-up: compile the hot paths before anything is timed.
  const warm = lines.slice(0, Math.min(lines.length, 20_000));
  ingestFloor(warm);
  for (const encoding of ENCODINGS) await ingestOnce(encoding, warm);

  const runs = Object.fromEntries(ENCODINGS.map((e) => [e, []]));
  for (let r = 0; r < reps; r++) {
    for (const encoding of ENCODINGS) {
      const floor = await timed(() => ingestFloor(lines));
      const run = await ingestOnce(encoding);
      runs[encoding].push({ floor, run });
      log(
        `ingest ${encoding} rep ${r + 1}/${reps}: ${rate(events, run.wallMs)} events/s, floor ${rate(events, floor.wallMs)} events/s, ratio ${(floor.wallMs / run.wallMs).toFixed(2)}`,
      );
    }
  }
  const result = { events, inputBytes: bytes, meanEventBytes: bytes / events, reps, encodings: {} };
  for (const encoding of ENCODINGS) {
    const pairs = runs[encoding];
    const perSec = (ms) => (events / ms) * 1000;
    result.encodings[encoding] = {
      eventsPerSec: median(pairs.map((p) => perSec(p.run.wallMs))),
      mbPerSec: median(pairs.map((p) => bytes / 1e6 / (p.run.wallMs / 1000))),
      cpuUsPerEvent: median(pairs.map((p) => (p.run.cpuMs * 1000) / events)),
      floorEventsPerSec: median(pairs.map((p) => perSec(p.floor.wallMs))),
      floorMbPerSec: median(pairs.map((p) => bytes / 1e6 / (p.floor.wallMs / 1000))),
      floorCpuUsPerEvent: median(pairs.map((p) => (p.floor.cpuMs * 1000) / events)),
      ratio: summary(pairs.map((p) => p.floor.wallMs / p.run.wallMs)),
      cpuRatio: median(pairs.map((p) => p.floor.cpuMs / p.run.cpuMs)),
      storedBytes: pairs[0].run.stored,
    };
  }
  return result;
}

function rate(n, ms) {
  return Math.round((n / ms) * 1000).toLocaleString('en-US');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const result = await benchIngest({ events: args.events, reps: args.reps });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (args.out) writeFileSync(args.out, json);
  else process.stdout.write(json);
}
