#!/usr/bin/env node
/**
 * Reading JSON Lines input: the byte line reader `auditlock ingest` uses now (1 MiB chunks split
 * on LF bytes, src/app/byte-lines.ts) against the node:readline reader it replaced (64 KiB
 * chunks decoded to text, split into strings), over the same ~1 KB events in a temp file read
 * from the page cache. Three levels, each a superset of the one before:
 *
 * - `split`: lines only (readline: strings; bytes: views, no decoding);
 * - `text`: each line as a string (bytes: strict UTF-8 decoding, which readline does not do);
 * - `parse`: each line parsed and validated as ingest does (readline: JSON.parse + schema, the
 *   old `parseEventLine`; bytes: parseEventBytes = strict UTF-8 + strict JSON + schema).
 *
 *   node bench/read-lines.mjs [--events 200000] [--reps 5] [--out result.json]
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadDist as load } from './lib/dist-url.mjs';
import { makeEventLines } from './lib/events.mjs';
import { log, median, parseArgs, timed } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

const { readByteLines } = await load('app/byte-lines.js');
const { parseEventBytes } = await load('core/event-line.js');
const { parseEvent } = await load('core/event.js');

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The old reader, as src/app/ingest.ts used it; `level` as in the module comment. */
async function readlineRun(file, level) {
  const rl = createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (level === 'parse') parseEvent(JSON.parse(line), `line ${n}`);
  }
  return n;
}

async function bytesRun(file, level) {
  let n = 0;
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  for await (const { number, content } of readByteLines(input)) {
    n = number;
    if (level === 'text') strictUtf8.decode(content);
    else if (level === 'parse') parseEventBytes(content, number, parseEvent);
  }
  return n;
}

export async function benchReadLines({ events = 200_000, reps = 5 } = {}) {
  const { lines, bytes } = makeEventLines(events);
  const dir = makeTempDir('read-lines');
  const file = `${dir}/events.jsonl`;
  writeFileSync(file, `${lines.join('\n')}\n`);
  try {
    const result = { events, inputBytes: bytes, reps, levels: {} };
    for (const level of ['split', 'text', 'parse']) {
      // Warm-up, then alternate so that both readers see the same machine state.
      await readlineRun(file, level);
      await bytesRun(file, level);
      const old = [];
      const now = [];
      for (let r = 0; r < reps; r++) {
        old.push(await timed(() => readlineRun(file, level)));
        now.push(await timed(() => bytesRun(file, level)));
      }
      const us = (runs, key) => median(runs.map((t) => (t[key] * 1000) / events));
      const entry = {
        readline: { wallUsPerLine: us(old, 'wallMs'), cpuUsPerLine: us(old, 'cpuMs') },
        bytes: { wallUsPerLine: us(now, 'wallMs'), cpuUsPerLine: us(now, 'cpuMs') },
      };
      entry.cpuSpeedup = entry.readline.cpuUsPerLine / entry.bytes.cpuUsPerLine;
      result.levels[level] = entry;
      log(
        `read-lines ${level}: readline ${entry.readline.cpuUsPerLine.toFixed(2)} µs/line CPU, bytes ${entry.bytes.cpuUsPerLine.toFixed(2)} µs/line CPU (${entry.cpuSpeedup.toFixed(2)}x)`,
      );
    }
    return result;
  } finally {
    removeTempDir(dir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const result = await benchReadLines({ events: args.events, reps: args.reps });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (args.out) writeFileSync(args.out, json);
  else process.stdout.write(json);
}
