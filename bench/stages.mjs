#!/usr/bin/env node
/**
 * Where the time goes, stage by stage: CPU microseconds per event for cumulative prefixes of the
 * ingest pipeline (each line: the one before plus one step), and for the verifier's per-entry
 * steps. Each stage runs in a fresh process on the same events, so one stage's garbage and
 * compiled code do not bill another; garbage collection a stage causes is billed to it.
 *
 *   node bench/stages.mjs [--events 30000] [--reps 5] [--out result.json]
 *   node bench/stages.mjs --stage NAME --events N --reps R [--log DIR]   (one stage, internal)
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CompactRange,
  canonicalize,
  checkEntryBytes,
  decodeBody,
  decodeEntry,
  encodeEntry,
  FolderStore,
  hashLeaf,
  hashModule,
  MemoryStore,
  makeEventEntry,
  parseEventLine,
  parseSegment,
  splitEntries,
  verifyStore,
} from './lib/dist.mjs';
import { eventStream, makeEventLines } from './lib/events.mjs';
import {
  ingestFloor,
  ingestLines,
  LOG,
  makeKey,
  readEntries,
  verifyFloor,
} from './lib/fixture.mjs';
import { log, median, parseArgs } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);
const delivery = (i) => ({ source: 'cli', id: `events.jsonl:${i + 1}` });
const entryOf = (lines, i) => makeEventEntry(parseEventLine(lines[i], i + 1), T0 + i, delivery(i));

/** Calls `fn(item, i)` for every item (a plain loop: the stages time their bodies, not this). */
function each(items, fn) {
  for (let i = 0; i < items.length; i++) fn(items[i], i);
}

/** Ingest stages: `run(lines)` processes every line once. A `+` stage builds on the one before. */
const INGEST = [
  ['JSON.parse', (lines) => each(lines, (l) => JSON.parse(l))],
  ['+ JSON.stringify', (lines) => each(lines, (l) => JSON.stringify(JSON.parse(l)))],
  ['+ SHA-256 (= ingest floor)', (lines) => ingestFloor(lines)],
  [
    'parseEventLine (JSON.parse + schema)',
    (lines) => each(lines, (l, i) => parseEventLine(l, i + 1)),
  ],
  ['+ makeEventEntry (envelope, delivery)', (lines) => each(lines, (_, i) => entryOf(lines, i))],
  [
    '+ canonicalize (RFC 8785 text)',
    (lines) => each(lines, (_, i) => canonicalize(entryOf(lines, i))),
  ],
  [
    '+ encodeEntry (UTF-8 bytes, limits)',
    (lines) => each(lines, (_, i) => encodeEntry(entryOf(lines, i))),
  ],
  [
    '+ hashLeaf + CompactRange.append',
    (lines) => {
      const range = new CompactRange();
      each(lines, (_, i) => range.append(hashLeaf(encodeEntry(entryOf(lines, i)))));
    },
  ],
  ['archiver, memory store', (lines, key) => archive(lines, key, { store: new MemoryStore() })],
  ['archiver, folder store (= ingest)', (lines, key) => archive(lines, key, {})],
];

async function archive(lines, key, where) {
  const dir = where.store ? undefined : makeTempDir('stages');
  try {
    await ingestLines({
      ...where,
      dir,
      signer: key.signer,
      count: lines.length,
      lineAt: (i) => lines[i],
      encoding: 'identity',
    });
  } finally {
    if (dir) removeTempDir(dir);
  }
}

/** Verify stages: each is one part of the per-entry work, over a log written once. */
const VERIFY = [
  ['floor: SHA-256 + UTF-8 decode + JSON.parse', ({ entries }) => verifyFloor(entries)],
  ['checkEntryBytes (structural)', ({ entries }) => each(entries, (e) => checkEntryBytes(e))],
  [
    'checkEntryBytes (strict: full schema)',
    ({ entries }) => each(entries, (e) => checkEntryBytes(e, decodeEntry)),
  ],
  [
    'hashLeaf + CompactRange.append',
    ({ entries }) => {
      const range = new CompactRange();
      each(entries, (e) => range.append(hashLeaf(e)));
    },
  ],
  [
    'parseSegment + splitEntries (incl. SHA-256 of each object)',
    ({ segments }) =>
      each(segments, (s) => {
        const p = parseSegment(s);
        splitEntries(decodeBody(p.body, p.header.encoding, p.header.rawLength));
      }),
  ],
  ['SHA-256 of each payload', ({ payloads }) => each(payloads, (p) => hashModule.sha256(p))],
  [
    'verifyStore, folder store (= verify)',
    ({ dir, trusted }) => verifyStore(new FolderStore(dir), { trustedKeys: [trusted] }),
  ],
];

/** Runs one stage `reps` times in this process; median CPU microseconds per event. */
async function runStage(name, { events, reps, logDir, spki }) {
  const ingest = INGEST.find(([n]) => n === name);
  let run;
  if (ingest) {
    const { lines } = makeEventLines(events);
    const key = await makeKey();
    run = () => ingest[1](lines, key);
  } else {
    const stage = VERIFY.find(([n]) => n === name);
    if (!stage) throw new Error(`no stage ${name}`);
    const segDir = join(logDir, LOG, 'seg');
    const segments = readdirSync(segDir)
      .sort()
      .map((f) => new Uint8Array(readFileSync(join(segDir, f))));
    const payloads = segments.map((s) => parseSegment(s).payload);
    const ctx = {
      dir: logDir,
      entries: readEntries(logDir),
      segments,
      payloads,
      trusted: { spki: Buffer.from(spki, 'base64') },
    };
    events = ctx.entries.length;
    run = () => stage[1](ctx);
  }
  await run(); // warm-up
  const us = [];
  for (let r = 0; r < reps; r++) {
    const cpu = process.cpuUsage();
    await run();
    const used = process.cpuUsage(cpu);
    us.push((used.user + used.system) / events);
  }
  return median(us);
}

export async function benchStages({ events = 30_000, reps = 5 } = {}) {
  const self = fileURLToPath(import.meta.url);
  const child = (name, extra = []) => {
    const out = execFileSync(
      process.execPath,
      [self, '--stage', name, '--events', String(events), '--reps', String(reps), ...extra],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    return JSON.parse(out).cpuUsPerEvent;
  };
  const ingest = [];
  for (const [name] of INGEST) {
    ingest.push({ name, cpuUsPerEvent: child(name) });
    log(`stage ${name}: ${ingest.at(-1).cpuUsPerEvent.toFixed(2)} µs/event`);
  }
  const key = await makeKey();
  const logDir = makeTempDir('stages-log');
  try {
    await ingestLines({
      dir: logDir,
      signer: key.signer,
      count: events,
      lineAt: eventStream().lineAt,
      encoding: 'identity',
    });
    const spki = Buffer.from(key.trusted.spki).toString('base64');
    const verify = [];
    for (const [name] of VERIFY) {
      verify.push({ name, cpuUsPerEvent: child(name, ['--log', logDir, '--spki', spki]) });
      log(`stage ${name}: ${verify.at(-1).cpuUsPerEvent.toFixed(2)} µs/entry`);
    }
    return { events, reps, ingest, verify };
  } finally {
    removeTempDir(logDir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  if (args.stage) {
    const cpuUsPerEvent = await runStage(args.stage, {
      events: args.events ?? 30_000,
      reps: args.reps ?? 5,
      logDir: args.log,
      spki: args.spki,
    });
    process.stdout.write(`${JSON.stringify({ stage: args.stage, cpuUsPerEvent })}\n`);
  } else {
    const result = await benchStages({ events: args.events, reps: args.reps });
    const json = `${JSON.stringify(result, null, 2)}\n`;
    if (args.out) writeFileSync(args.out, json);
    else process.stdout.write(json);
  }
}
