#!/usr/bin/env node
/**
 * Runs every benchmark, each in a process of its own, prints the results as tables and rewrites
 * the results section of docs/PERFORMANCE.md. `npm run bench` builds first.
 *
 *   node bench/run.mjs              full run (~5-10 minutes on 2 cores), writes the docs
 *   node bench/run.mjs --quick      smoke run (~1 minute), does not write the docs
 *
 * Options: --events N (ingest and verify, default 200000), --reps N (3; verify 5, or
 * --verify-reps N), --rss-events N
 * (1000000), --stage-events N (30000), --profile-events N (50000), --hash-rounds N (15),
 * --peer-events N (200000; the Tessera comparison, e.g. 1000000 for the size),
 * --peer-reps N (3), --ingest-rss-events N (100000; ingest peak RSS at 64..4,096 events per
 * segment, bench/ingest-rss.mjs), --ingest-rss-long-events N (1000000; one long run at 64 and
 * at 4,096, 0 for none),
 * --only hash,ingest,verify,stages,profile,rss,hostile,incremental,ingest-rss,peer-tessera,
 * lookup, export, verify-workers, sealed, s3-parallel,
 * --json FILE (raw results), --write / --no-write (the docs; default: write only on a full
 * default run).
 *
 * `peer-tessera` (bench/peer-tessera.mjs) runs auditlock's CLI, the format floor (bench/peers/floor)
 * and Trillian Tessera's POSIX driver (bench/peers/tessera, built with `go build` when Go is
 * present; it says so when Go is absent) interleaved on the same input, ~3 minutes at the default
 * size.
 *
 * `incremental` (bench/incremental.mjs) runs by default; `s3-parallel` (bench/s3-parallel.mjs,
 * starts moto, ~10 minutes) only when named in --only, like the other emulator benchmarks. Both
 * write their own sections of docs/PERFORMANCE.md (bench/lib/doc-section.mjs), not the results
 * section.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDocSection } from './lib/doc-section.mjs';
import { machineInfo } from './lib/machine.mjs';
import { log, parseArgs } from './lib/measure.mjs';
import { renderMarkdown, verdicts, writeResults } from './lib/report.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

const SECTIONS = [
  'hash',
  'ingest',
  'verify',
  'stages',
  'profile',
  'rss',
  'hostile',
  'incremental',
  'ingest-rss',
  'peer-tessera',
  'lookup',
  'export',
  'verify-workers',
  'sealed',
];
/** Run only when named in --only (they start the emulator and take long). */
const EXTRA_SECTIONS = ['s3-parallel'];
/** Sections that render their own part of the docs: `markdown` in their JSON output. */
const OWN_DOC_SECTIONS = [
  'incremental',
  'ingest-rss',
  'peer-tessera',
  's3-parallel',
  'lookup',
  'export',
  'verify-workers',
  'sealed',
];
const DOC = fileURLToPath(new URL('../docs/PERFORMANCE.md', import.meta.url));

const argv = process.argv.slice(2);
const args = parseArgs(argv);
const quick = Boolean(args.quick);
const events = args.events ?? (quick ? 5_000 : 200_000);
const sizes = {
  events,
  reps: args.reps ?? (quick ? 1 : 3),
  verifyReps: args['verify-reps'] ?? args.reps ?? (quick ? 1 : 5),
  rssEvents: args['rss-events'] ?? (quick ? 20_000 : 1_000_000),
  stageEvents: args['stage-events'] ?? Math.min(events, quick ? 3_000 : 30_000),
  stageReps: quick ? 2 : 5,
  profileEvents: args['profile-events'] ?? Math.min(events, quick ? 5_000 : 50_000),
  hashRounds: args['hash-rounds'] ?? (quick ? 3 : 15),
  peerEvents: args['peer-events'] ?? (quick ? 5_000 : 200_000),
  peerReps: args['peer-reps'] ?? (quick ? 1 : 3),
  ingestRssEvents: args['ingest-rss-events'] ?? (quick ? 5_000 : 100_000),
  ingestRssLongEvents: args['ingest-rss-long-events'] ?? (quick ? 10_000 : 1_000_000),
};
const only = typeof args.only === 'string' ? args.only.split(',') : SECTIONS;
const ALL_SECTIONS = [...SECTIONS, ...EXTRA_SECTIONS];
for (const s of only)
  if (!ALL_SECTIONS.includes(s))
    throw new Error(`unknown section ${s}; expected ${ALL_SECTIONS.join(', ')}`);
const customised = argv.some((a) => a !== '--write' && a !== '--json' && a.startsWith('--'));
const write = args.write === true || (!args['no-write'] && !quick && !customised);

const machine = machineInfo();
const started = Date.now();
const work = makeTempDir('run');
const results = {};
const sectionArgs = {
  hash: ['hash.mjs', '--rounds', sizes.hashRounds, ...(quick ? ['--ms', 5] : [])],
  ingest: ['ingest.mjs', '--events', sizes.events, '--reps', sizes.reps],
  verify: ['verify.mjs', '--events', sizes.events, '--reps', sizes.verifyReps],
  stages: ['stages.mjs', '--events', sizes.stageEvents, '--reps', sizes.stageReps],
  profile: ['profile.mjs', '--events', sizes.profileEvents],
  rss: ['verify-rss.mjs', '--events', sizes.rssEvents],
  hostile: ['hostile.mjs'],
  // Quick: small logs in the run's temp folder, not the cache of full-size logs.
  incremental: [
    'incremental.mjs',
    ...(quick
      ? ['--sizes', '2000,8000', '--ks', '1,10', '--reps', 3, '--cache', join(work, 'incremental')]
      : []),
  ],
  'ingest-rss': [
    'ingest-rss.mjs',
    '--events',
    sizes.ingestRssEvents,
    '--reps',
    quick ? 1 : 2,
    '--long-events',
    sizes.ingestRssLongEvents,
  ],
  'peer-tessera': ['peer-tessera.mjs', '--events', sizes.peerEvents, '--reps', sizes.peerReps],
  lookup: ['lookup.mjs', '--max', quick ? 256 : 4096],
  export: ['export.mjs', '--events', quick ? 2_000 : 20_000, '--reps', quick ? 1 : 2],
  sealed: ['sealed.mjs', '--events', quick ? 2_000 : 20_000, '--reps', quick ? 1 : 5],
  // bench/verify-workers.mjs: workers 1..4 on 200,000 events, peak RSS at 1M with 1..8 workers.
  'verify-workers': [
    'verify-workers.mjs',
    ...(quick ? ['--events', 20_000, '--reps', 1, '--rss-events', 0] : []),
  ],
  's3-parallel': [
    's3-parallel.mjs',
    ...(quick ? ['--events', 20_000, '--latencies', 0, '--reps', 1] : []),
  ],
};
try {
  for (const section of ALL_SECTIONS.filter((s) => only.includes(s))) {
    const [script, ...rest] = sectionArgs[section];
    // Their reports go to the docs from here (below), never to bench/results/ on a quick run.
    if (OWN_DOC_SECTIONS.includes(section)) rest.push('--md', join(work, `${section}.md`));
    const out = join(work, `${section}.json`);
    const t = Date.now();
    process.stderr.write(`${section}:\n`);
    execFileSync(
      process.execPath,
      [fileURLToPath(new URL(script, import.meta.url)), ...rest.map(String), '--out', out],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    results[section] = JSON.parse(readFileSync(out, 'utf8'));
    log(`${section} took ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
} finally {
  removeTempDir(work);
}

const meta = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  argv,
  commit: gitCommit(),
  seconds: (Date.now() - started) / 1000,
  machine,
  loadAverageEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
};
const own = OWN_DOC_SECTIONS.filter((s) => results[s]);
const shared = Object.fromEntries(
  Object.entries(results).filter(([s]) => !OWN_DOC_SECTIONS.includes(s)),
);
const markdown = renderMarkdown(shared, meta);
process.stdout.write(`\n${markdown}\n\n`);
for (const s of own) process.stdout.write(`${results[s].markdown}\n\n`);
for (const v of verdicts(results)) process.stdout.write(`${v.ok ? 'pass' : 'FAIL'}: ${v.name}\n`);
if (args.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(args.json, `${JSON.stringify({ meta, sizes, results }, null, 2)}\n`);
}
if (write) {
  if (Object.keys(shared).length > 0) writeResults(DOC, markdown);
  for (const s of own) writeDocSection(s, results[s].markdown, DOC);
  process.stdout.write(`results written to ${DOC}\n`);
} else {
  process.stdout.write(
    'docs/PERFORMANCE.md not written (quick or custom run; --write forces it)\n',
  );
}

function gitCommit() {
  try {
    const cwd = fileURLToPath(new URL('../', import.meta.url));
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}, with uncommitted changes` : head;
  } catch {
    return undefined;
  }
}
