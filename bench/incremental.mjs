#!/usr/bin/env node
import { execFileSync } from 'node:child_process';
/**
 * Incremental verification (issue 9): `verifyIncremental` from a state saved k segments before
 * the head of logs of N events, for several N and k. The claim is that its cost follows k, not N.
 *
 * For each log (a `FolderStore`, ~1 KB sample events, `--segment-events` per segment so that even
 * the smallest log has more than the largest k segments), one full verification records the
 * log's position at `last - k`. Each timed incremental run gets a fresh in-memory state store
 * holding that one position as record 0, then loads it (probes, reads and confirms it against
 * the archive's segment), lists and verifies the k newer segments and saves record 1. Measured
 * beside it, in the same process and the same rotation:
 *
 * - floor: read the same k segment files and SHA-256 them once (node:crypto one-shot), the least
 *   any verifier must do with new data; ratio = floor time / incremental time;
 * - full: `verifyStore` over the whole log, default options; per segment, against the
 *   incremental run's time per new segment;
 * - flatness: incremental time at the largest N over that at the smallest N, same k.
 *
 * Logs are built once into a cache (default `.cache/bench-incremental/`, git-ignored) with their
 * signing key and reused while the events and segment size match; `--rebuild` starts over.
 * Files come from the page cache once read: this measures the verifier, not the disk.
 *
 *   node bench/incremental.mjs [--sizes 10000,100000,1000000] [--ks 1,10,100] [--reps 9]
 *     [--segment-events 64] [--full-reps 3] [--cache DIR] [--rebuild] [--out result.json]
 *     [--md bench/results/incremental.md] [--doc]
 *
 * Writes the report to bench/results/incremental.md (or --md), and with --doc into its section of
 * docs/PERFORMANCE.md.
 */
import { hash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FolderStore,
  generateKeyPair,
  LocalSigner,
  MemoryStore,
  systemClock,
  verifyStore,
} from './lib/dist.mjs';
import { loadDist as load } from './lib/dist-url.mjs';
import { writeDocSection } from './lib/doc-section.mjs';
import { eventStream } from './lib/events.mjs';
import { ingestLines, LOG } from './lib/fixture.mjs';
import { machineInfo } from './lib/machine.mjs';
import { log, median, parseArgs, summary, timed } from './lib/measure.mjs';

const { verifyIncremental } = await load('app/verify-incremental.js');
const { saveVerifyState } = await load('app/verify-state.js');
const { segmentKey } = await load('core/layout.js');

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The signing key of every cached log (reused so cached logs stay verifiable). */
async function cachedKey(cache) {
  const path = join(cache, 'key.pem');
  if (!existsSync(path)) {
    mkdirSync(cache, { recursive: true });
    writeFileSync(path, generateKeyPair().privateKeyPem, { mode: 0o600 });
  }
  const signer = LocalSigner.fromPem(readFileSync(path, 'utf8'));
  return { signer, trusted: { spki: await signer.publicKey(), label: 'bench' } };
}

/** A log of `events` events in the cache, built unless a complete one is there. */
async function cachedLog({ cache, events, segmentEvents, signer, rebuild }) {
  const dir = join(cache, `log-${events}-s${segmentEvents}`);
  const stamp = join(dir, 'built.json');
  if (!rebuild && existsSync(stamp)) {
    const meta = JSON.parse(readFileSync(stamp, 'utf8'));
    if (meta.events === events && meta.segmentEvents === segmentEvents) {
      log(`incremental: reusing the ${events}-event log in ${dir}`);
      return { dir, buildSeconds: meta.buildSeconds, reused: true };
    }
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'store'), { recursive: true });
  log(`incremental: building a ${events}-event log (${segmentEvents} events per segment)`);
  const { lineAt } = eventStream();
  const t = Date.now();
  // The archive lives in `store/`, so the stamp beside it is not an unexpected object.
  await ingestLines({
    dir: join(dir, 'store'),
    signer,
    count: events,
    lineAt,
    maxEvents: segmentEvents,
  });
  const buildSeconds = (Date.now() - t) / 1000;
  writeFileSync(stamp, `${JSON.stringify({ events, segmentEvents, buildSeconds })}\n`);
  log(`incremental: built in ${buildSeconds.toFixed(0)} s`);
  return { dir, buildSeconds, reused: false };
}

/** Full verification of the log; records the position after each segment in `wanted`. */
async function verifyFull(storeDir, trusted, events, wanted = new Set()) {
  const positions = new Map();
  let findings = 0;
  const t = await timed(() =>
    verifyStore(new FolderStore(storeDir), {
      trustedKeys: [trusted],
      onFinding: () => findings++,
      onSegment: (s) => {
        if (wanted.has(s.seq)) positions.set(s.seq, s.position);
      },
    }),
  );
  const r = t.result;
  if (!r.ok || findings > 0 || r.logs[0]?.entries !== events)
    throw new Error(`full verification found problems: ${JSON.stringify(r.logs)}`);
  return { ...t, segments: r.logs[0].segments, lastSeq: r.logs[0].lastSeq, positions };
}

/**
 * One incremental run from `position` (k segments before the head). `named`: the log is named
 * (`logs`), else the run finds the store's logs itself, as the scheduled verifier does when it is
 * given none.
 */
async function runIncremental(storeDir, trusted, position, k, named) {
  const stateStore = new MemoryStore();
  await saveVerifyState(
    stateStore,
    { log: LOG, position, verifiedAt: Date.now(), replica: undefined },
    -1,
    [trusted],
  );
  let findings = 0;
  const t = await timed(() =>
    verifyIncremental({
      store: new FolderStore(storeDir),
      stateStore,
      clock: systemClock,
      trustedKeys: [trusted],
      ...(named ? { logs: [LOG] } : {}),
      onFinding: () => findings++,
    }),
  );
  const r = t.result;
  const l = r.logs[0];
  if (
    !r.ok ||
    findings > 0 ||
    r.logs.length !== 1 ||
    l?.segmentsRead !== k ||
    l.from?.seq !== position.seq ||
    l.saved !== 1
  )
    throw new Error(`incremental run: unexpected result ${JSON.stringify(r.logs)}`);
  return t;
}

/** Floor: read the k newest segment files and hash each once. */
async function readHashFloor(storeDir, firstSeq, lastSeq) {
  return timed(async () => {
    let x = 0;
    for (let seq = firstSeq; seq <= lastSeq; seq++) {
      const bytes = await readFile(join(storeDir, segmentKey(LOG, seq)));
      x ^= hash('sha256', bytes, 'buffer')[0];
    }
    return x;
  });
}

export async function benchIncremental({
  sizes = [10_000, 100_000, 1_000_000],
  ks = [1, 10, 100],
  reps = 9,
  fullReps = 3,
  segmentEvents = 64,
  cache = join(ROOT, '.cache', 'bench-incremental'),
  rebuild = false,
} = {}) {
  const maxK = Math.max(...ks);
  const minSegments = Math.min(...sizes) / segmentEvents;
  if (minSegments <= maxK)
    throw new Error(
      `the ${Math.min(...sizes)}-event log has ${Math.floor(minSegments)} segments of ${segmentEvents} events, not more than k = ${maxK}: use fewer --segment-events`,
    );
  const { signer, trusted } = await cachedKey(cache);
  const logs = [];
  for (const events of sizes) {
    const built = await cachedLog({ cache, events, segmentEvents, signer, rebuild });
    const storeDir = join(built.dir, 'store');
    // A first full run (warm-up, page cache) finds the head; a second records the positions.
    const first = await verifyFull(storeDir, trusted, events);
    const wanted = new Set(ks.map((k) => first.lastSeq - k));
    const { positions } = await verifyFull(storeDir, trusted, events, wanted);
    logs.push({
      events,
      storeDir,
      built,
      lastSeq: first.lastSeq,
      segments: first.segments,
      positions,
    });
  }
  // Warm-up of the incremental path on each log.
  for (const l of logs)
    await runIncremental(l.storeDir, trusted, l.positions.get(l.lastSeq - 1), 1);

  // Rotation: every (N, k) pair once per repetition: the run that finds the logs itself, the
  // run with the log named, then the floor; a full verification after each log's k values (the
  // largest is slow: --full-reps).
  const runs = new Map();
  const full = new Map();
  const at = (n, k) => {
    const id = `${n}:${k}`;
    if (!runs.has(id)) runs.set(id, { found: [], named: [], floor: [] });
    return runs.get(id);
  };
  for (let rep = 0; rep < reps; rep++) {
    for (const l of logs) {
      for (const k of ks) {
        const position = l.positions.get(l.lastSeq - k);
        const r = at(l.events, k);
        r.found.push(await runIncremental(l.storeDir, trusted, position, k, false));
        r.named.push(await runIncremental(l.storeDir, trusted, position, k, true));
        r.floor.push(await readHashFloor(l.storeDir, l.lastSeq - k + 1, l.lastSeq));
      }
      if (rep < fullReps) {
        if (!full.has(l.events)) full.set(l.events, []);
        full.get(l.events).push(await verifyFull(l.storeDir, trusted, l.events));
      }
    }
    const last = (n, k, v) => at(n, k)[v].at(-1).wallMs.toFixed(1);
    log(
      `incremental rep ${rep + 1}/${reps} (found / named, ms): ${logs
        .map(
          (l) =>
            `N=${l.events}: ${ks.map((k) => `k=${k} ${last(l.events, k, 'found')}/${last(l.events, k, 'named')}`).join(', ')}`,
        )
        .join('; ')}`,
    );
  }

  const smallest = Math.min(...sizes);
  const largest = Math.max(...sizes);
  const rows = [];
  for (const l of logs) {
    const fullMs = full.get(l.events).map((x) => x.wallMs);
    const fullPerSegment = median(fullMs) / l.segments;
    for (const k of ks) {
      const r = at(l.events, k);
      const base = at(smallest, k);
      const variant = (v) => {
        const ms = r[v].map((x) => x.wallMs);
        return {
          ms: summary(ms),
          cpuMs: median(r[v].map((x) => x.cpuMs)),
          // Per repetition: this log's time over the smallest log's, same k, same repetition.
          vsSmallest: summary(ms.map((m, i) => m / base[v][i].wallMs)),
          floorRatio: summary(ms.map((m, i) => r.floor[i].wallMs / m)),
          perSegmentVsFull: median(ms) / k / fullPerSegment,
          fullOverRun: median(fullMs) / median(ms),
        };
      };
      rows.push({
        events: l.events,
        segments: l.segments,
        k,
        found: variant('found'),
        named: variant('named'),
        floorMs: summary(r.floor.map((x) => x.wallMs)),
        fullMs: summary(fullMs),
        fullPerSegmentMs: fullPerSegment,
      });
    }
  }
  return {
    sizes,
    ks,
    reps,
    fullReps,
    segmentEvents,
    largest,
    smallest,
    logs: logs.map((l) => ({
      events: l.events,
      segments: l.segments,
      buildSeconds: l.built.buildSeconds,
      reused: l.built.reused,
    })),
    rows,
  };
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const f = (n, d = 2) => n.toFixed(d);
const rng = (s, d = 2) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;

export function renderIncremental(r, meta) {
  const m = meta.machine;
  const lines = [
    '### Incremental verification: cost per new segment against log length',
    '',
    `Measured ${meta.date} by \`node bench/incremental.mjs${meta.argv.length ? ` ${meta.argv.join(' ')}` : ''}\`${meta.commit ? ` at commit \`${meta.commit}\`` : ''}.`,
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM; Node ${m.node}. Load average ${m.loadAverage.join(' / ')} at the start, ${meta.loadAverageEnd.join(' / ')} at the end.`,
    '',
    `Folder-store logs of ~1 KB sample events, ${r.segmentEvents} events per segment (so the smallest log has more segments than the largest k; at the archiver's default 4,096 a 1,000,000-event log has only 245 segments): ` +
      r.logs
        .map(
          (l) =>
            `${int(l.events)} events = ${int(l.segments)} segments (${l.reused ? 'from the cache' : `built in ${f(l.buildSeconds, 0)} s`})`,
        )
        .join(', ') +
      `. Each incremental run starts from a state k segments before the head (an in-memory state store holding that one record), verifies the k new segments and saves the next record; *logs found*: the run finds the store's logs itself (no \`logs\` option, as the scheduled verifier without a configured list), *log named*: \`logs: ['bench']\`. Median (min–max) of ${r.reps} rotations; full verification ${r.fullReps}×.`,
    '',
    '| Log (events) | k | run, logs found | vs smallest log | run, log named | vs smallest log | floor: read + SHA-256 of the k files | floor / run (named) | full verification | per segment, run (named) / full |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.rows
      .map((row) => [
        int(row.events),
        row.k,
        `${rng(row.found.ms, 1)} ms`,
        row.events === r.smallest ? '1 (base)' : rng(row.found.vsSmallest),
        `${rng(row.named.ms, 1)} ms`,
        row.events === r.smallest ? '1 (base)' : rng(row.named.vsSmallest),
        `${rng(row.floorMs)} ms`,
        rng(row.named.floorRatio),
        `${f(row.fullMs.median / 1000, 2)} s (${int(row.named.fullOverRun)}× the named run)`,
        f(row.named.perSegmentVsFull),
      ])
      .map((c) => `| ${c.join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const list = (v, d) => (v === undefined ? d : String(v).split(',').map(Number));
  const started = Date.now();
  const machine = machineInfo();
  const result = await benchIncremental({
    sizes: list(args.sizes, undefined),
    ks: list(args.ks, undefined),
    reps: args.reps,
    fullReps: args['full-reps'],
    segmentEvents: args['segment-events'],
    cache: args.cache,
    rebuild: Boolean(args.rebuild),
  });
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    argv: process.argv
      .slice(2)
      .filter((a, i, all) => a !== '--out' && all[i - 1] !== '--out' && a !== '--doc'),
    commit: gitCommit(),
    seconds: (Date.now() - started) / 1000,
    machine,
    loadAverageEnd: (await import('node:os')).loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const markdown = renderIncremental(result, meta);
  process.stdout.write(`${markdown}\n`);
  const md = args.md ?? join(ROOT, 'bench', 'results', 'incremental.md');
  mkdirSync(dirname(md), { recursive: true });
  writeFileSync(md, markdown);
  if (args.doc) writeDocSection('incremental', markdown);
  if (args.out) writeFileSync(args.out, `${JSON.stringify({ meta, result, markdown }, null, 2)}\n`);
}

function gitCommit() {
  try {
    const git = (...a) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no')
      ? `${head}, with uncommitted changes`
      : head;
  } catch {
    return undefined;
  }
}
