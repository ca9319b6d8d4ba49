#!/usr/bin/env node
/**
 * auditlock against the peer users would otherwise pick: Trillian Tessera on its POSIX storage
 * driver (bench/peers/tessera, Go), whole processes on the same JSON Lines file of ~1 KB events.
 * Each round runs, in turn: auditlock ingest, the floor's, Tessera append, auditlock verify, the
 * floor's, Tessera check (read back, re-hash, compare root and tiles), each into / from a fresh
 * folder, with the order of the sides reversed every other round; ratios are taken within a
 * round, then summarised.
 *
 *   node bench/peer-tessera.mjs [--events 200000] [--reps 3] [--max-events N] [--out result.json]
 *                               [--md FILE] [--doc]
 *
 * - Wall: from spawn to exit, measured here. CPU (user + system, all threads) and peak RSS: the
 *   child's own resource usage from the operating system (getrusage(2)): the Go peer prints it,
 *   auditlock's CLI writes it on exit through bench/lib/usage-hook.mjs. Peak RSS on Linux is never
 *   below the spawner's, so this process holds no events (the input is written in chunks).
 * - Both sides at their defaults: auditlock 4,096 events per segment (`--max-events` changes it),
 *   Tessera batches of 256 entries or 250 ms; both fsync what they write.
 * - "segments" for auditlock are the segment objects written; for Tessera the entry-bundle files.
 * - Ratios: throughput = Tessera wall / auditlock wall (above 1: auditlock faster); CPU per event =
 *   auditlock CPU / Tessera CPU (below 1: auditlock cheaper). Targets of issue 14: ingest
 *   throughput >= 1.0 and CPU <= 1.5; verify throughput >= 0.5.
 * - The format floor (bench/peers/floor/floor.mjs) runs in every round beside both: the work the
 *   archive format itself requires and nothing else (one thread on ingest; on verify as many
 *   threads as auditlock's default, over auditlock's log of the same round). Its ratios say how
 *   much of each target the format leaves to any implementation in Node, and how far auditlock is
 *   above it.
 * - Without Go on the PATH the peer cannot be built: the result says so (`goAbsent`) and only
 *   auditlock and the floor are run, once.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditlockCli, CLI, nodeMeasured, runMeasured as run } from './lib/child-run.mjs';
import { writeDocSection } from './lib/doc-section.mjs';
import { writeEventFile } from './lib/event-file.mjs';
import { machineInfo } from './lib/machine.mjs';
import { log, parseArgs, summary } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PEER_SRC = join(ROOT, 'bench', 'peers', 'tessera');
/** Built on demand, outside the repository's tracked files (.cache/ is ignored). */
const PEER_BIN = join(ROOT, '.cache', 'bench', 'tessera-peer');
/** The format floor (bench/peers/floor/floor.mjs): the format's own work, nothing else. */
const FLOOR = join(ROOT, 'bench', 'peers', 'floor', 'floor.mjs');

/** Go's version line, or undefined when no `go` command runs. */
export function goVersion() {
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Builds the peer (a no-op when Go finds it up to date) and returns the binary's path. */
export function buildPeer() {
  mkdirSync(dirname(PEER_BIN), { recursive: true });
  execFileSync('go', ['build', '-mod=readonly', '-o', PEER_BIN, '.'], {
    cwd: PEER_SRC,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return PEER_BIN;
}

export async function benchPeerTessera({ events = 200_000, reps = 3, maxEvents } = {}) {
  const go = goVersion();
  const work = makeTempDir('peer');
  try {
    const input = join(work, 'events.jsonl');
    const inputBytes = writeEventFile(input, events);
    execFileSync(process.execPath, [CLI, 'keygen', '--out', join(work, 'key')], {
      stdio: 'ignore',
    });
    const key = join(work, 'key', 'signing-key.pem');
    const pub = join(work, 'key', 'signing-key.pub.pem');
    const limits = maxEvents ? ['--max-events', String(maxEvents)] : [];

    const sides = {
      auditlock: {
        async ingest(dir) {
          const r = await auditlockCli(
            ['ingest', dir, input, '--key', key, '--json', ...limits],
            work,
          );
          if (r.json.archived !== events) throw new Error(`auditlock archived ${r.json.archived}`);
          return { ...r, segments: r.json.segments };
        },
        async verify(dir) {
          const r = await auditlockCli(['verify', dir, '--pubkey', pub, '--json'], work);
          return r;
        },
      },
      // Verifies auditlock's log of the same round (its own ingest writes no real segments).
      floor: {
        async ingest(dir) {
          const r = await nodeMeasured(
            FLOOR,
            ['ingest', input, dir, '--max-events', String(maxEvents ?? 4096)],
            work,
          );
          if (r.json.entries !== events) throw new Error(`the floor ingested ${r.json.entries}`);
          return { ...r, segments: r.json.segments };
        },
        async verify() {
          const r = await nodeMeasured(FLOOR, ['verify', join(work, 'auditlock-log')], work);
          if (r.json.entries !== events) throw new Error(`the floor verified ${r.json.entries}`);
          return r;
        },
      },
      tessera: {
        async ingest(dir) {
          const r = await run(PEER_BIN, [
            'append',
            '-input',
            input,
            '-dir',
            dir,
            '-vkey',
            `${dir}.vkey`,
          ]);
          if (r.json.entries !== events) throw new Error(`tessera appended ${r.json.entries}`);
          return { ...r, segments: r.json.entryBundles };
        },
        async verify(dir) {
          const r = await run(PEER_BIN, ['check', '-dir', dir, '-vkey', `${dir}.vkey`]);
          if (!r.json.ok || r.json.entries !== events) throw new Error('tessera check failed');
          return r;
        },
      },
    };
    const names = go ? ['auditlock', 'floor', 'tessera'] : ['auditlock', 'floor'];
    if (go) {
      log(`peer: building bench/peers/tessera with ${go}`);
      buildPeer();
    } else log('peer: Go is absent (no `go` on the PATH): Tessera not built, auditlock runs alone');

    const rounds = [];
    const roundsToRun = go ? reps : 1;
    for (let r = 0; r < roundsToRun; r++) {
      const order = r % 2 === 0 ? names : [...names].reverse();
      const round = {};
      for (const op of ['ingest', 'verify']) {
        for (const name of order) {
          const dir = join(work, `${name}-log`);
          round[name] ??= {};
          round[name][op] = await sides[name][op](dir);
        }
      }
      for (const name of names) removeTempDir(join(work, `${name}-log`));
      rounds.push(round);
      const each = (op) =>
        names.map((name) => `${name} ${rate(events, round[name][op].wallMs)}`).join(', ');
      log(
        `peer round ${r + 1}/${roundsToRun}, ev/s: ingest ${each('ingest')}; verify ${each('verify')}`,
      );
    }
    return summarise({ events, inputBytes, reps: roundsToRun, maxEvents, go, rounds });
  } finally {
    removeTempDir(work);
  }
}

function summarise({ events, inputBytes, reps, maxEvents, go, rounds }) {
  const per = (name, op, f) => summary(rounds.map((r) => f(r[name][op])));
  const side = (name) => ({
    ingest: {
      eventsPerSec: per(name, 'ingest', (x) => (events / x.wallMs) * 1000),
      cpuUsPerEvent: per(name, 'ingest', (x) => (x.cpuMs * 1000) / events),
      maxRssMiB: per(name, 'ingest', (x) => x.maxRssKiB / 1024),
      segments: per(name, 'ingest', (x) => x.segments),
    },
    verify: {
      eventsPerSec: per(name, 'verify', (x) => (events / x.wallMs) * 1000),
      cpuUsPerEvent: per(name, 'verify', (x) => (x.cpuMs * 1000) / events),
      maxRssMiB: per(name, 'verify', (x) => x.maxRssKiB / 1024),
    },
  });
  const result = {
    events,
    inputBytes,
    reps,
    maxEvents: maxEvents ?? 4096,
    goAbsent: !go,
    go,
    auditlock: side('auditlock'),
    floor: side('floor'),
    rounds,
  };
  const ratio = (op, f, a = 'auditlock', b = 'tessera') => {
    const each = rounds.map((r) => f(r[a][op], r[b][op]));
    return { ...summary(each), each };
  };
  result.floorRatios = {
    // auditlock against the format floor of the same round (above 1: auditlock costs more).
    ingestCpu: ratio('ingest', (a, f) => a.cpuMs / f.cpuMs, 'auditlock', 'floor'),
    verifyThroughput: ratio('verify', (a, f) => f.wallMs / a.wallMs, 'auditlock', 'floor'),
    verifyCpu: ratio('verify', (a, f) => a.cpuMs / f.cpuMs, 'auditlock', 'floor'),
  };
  if (go) {
    result.tessera = side('tessera');
    // The floor against Tessera: how much of each target the format leaves to an implementation.
    result.floorRatios.floorIngestCpu = ratio('ingest', (f, t) => f.cpuMs / t.cpuMs, 'floor');
    result.floorRatios.floorVerifyThroughput = ratio(
      'verify',
      (f, t) => t.wallMs / f.wallMs,
      'floor',
    );
    result.ratios = {
      ingestThroughput: ratio('ingest', (a, t) => t.wallMs / a.wallMs),
      ingestCpu: ratio('ingest', (a, t) => a.cpuMs / t.cpuMs),
      verifyThroughput: ratio('verify', (a, t) => t.wallMs / a.wallMs),
      verifyCpu: ratio('verify', (a, t) => a.cpuMs / t.cpuMs),
    };
  }
  return result;
}

const fmt = (n, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const range = (s, d = 2) => `${fmt(s.median, d)} (${fmt(s.min, d)}–${fmt(s.max, d)})`;

/** The section of docs/PERFORMANCE.md (`<!-- bench-peer-tessera:... -->`). */
export function renderPeer(result, meta) {
  const m = meta.machine;
  const lines = [
    '### auditlock vs Trillian Tessera (POSIX driver), whole processes, same input',
    '',
    `${fmt(result.events)} events of ~1 KB (${fmt(result.inputBytes / 1e6, 0)} MB of JSON Lines), ${result.reps} interleaved round(s), order swapped every other round; auditlock ${fmt(result.maxEvents)} events per segment. Measured ${meta.date} on ${m.cpu}, ${m.cores} cores, Node ${m.node}${result.go ? `, ${result.go}` : ''}; load average ${m.loadAverage.join(' / ')} at the start, ${meta.loadAverageEnd.join(' / ')} at the end (1 / 5 / 15 min; above zero means other processes competed for the cores). Median (min–max) over rounds.`,
    '',
  ];
  if (result.goAbsent) {
    lines.push(
      '**Go is absent on this machine: the Tessera peer was not built or run; auditlock and the format floor alone, one round.**',
      '',
    );
  }
  lines.push(
    "*Format floor*: bench/peers/floor/floor.mjs, what the archive format itself makes any Node implementation do and nothing else: on ingest (one thread) strict UTF-8 decoding, `JSON.parse`, the RFC 8785 form, the leaf hash, and per segment the payload and object hashes and one fsynced file; on verify (as many threads as auditlock) the three SHA-256 passes, object, payload and leaves, over auditlock's segments of the same round. No event rules, envelope, delivery ids, tree, signature or checks: a lower bound, not a verifier.",
    '',
  );
  const sides = result.goAbsent ? ['auditlock', 'floor'] : ['auditlock', 'floor', 'tessera'];
  const heading = { auditlock: 'auditlock', floor: 'format floor (Node)', tessera: 'Tessera' };
  lines.push(
    `| | ${sides.map((s) => heading[s]).join(' | ')} |`,
    `|---|${sides.map(() => '---').join('|')}|`,
    `| ingest, events/s (wall) | ${sides.map((s) => range(result[s].ingest.eventsPerSec, 0)).join(' | ')} |`,
    `| ingest, CPU µs per event | ${sides.map((s) => range(result[s].ingest.cpuUsPerEvent, 1)).join(' | ')} |`,
    `| ingest, peak RSS MiB | ${sides.map((s) => range(result[s].ingest.maxRssMiB, 0)).join(' | ')} |`,
    `| ingest, segments (auditlock, floor) / entry bundles (Tessera) written | ${sides.map((s) => range(result[s].ingest.segments, 0)).join(' | ')} |`,
    `| verify / check, events/s (wall) | ${sides.map((s) => range(result[s].verify.eventsPerSec, 0)).join(' | ')} |`,
    `| verify / check, CPU µs per event | ${sides.map((s) => range(result[s].verify.cpuUsPerEvent, 2)).join(' | ')} |`,
    `| verify / check, peak RSS MiB | ${sides.map((s) => range(result[s].verify.maxRssMiB, 0)).join(' | ')} |`,
    '',
  );
  const each = (s) => s.each.map((x) => fmt(x, 2)).join(', ');
  const f = result.floorRatios;
  lines.push('| ratio | median (min–max) | each round, in order | target |', '|---|---|---|---|');
  if (result.ratios) {
    const r = result.ratios;
    const mark = (s, ok) => `${range(s)} ${ok ? '(target met)' : '(target missed)'}`;
    lines.push(
      `| ingest throughput, auditlock ÷ Tessera | ${mark(r.ingestThroughput, r.ingestThroughput.median >= 1)} | ${each(r.ingestThroughput)} | ≥ 1.0 |`,
      `| ingest CPU per event, auditlock ÷ Tessera | ${mark(r.ingestCpu, r.ingestCpu.median <= 1.5)} | ${each(r.ingestCpu)} | ≤ 1.5 |`,
      `| verify throughput, auditlock ÷ Tessera | ${mark(r.verifyThroughput, r.verifyThroughput.median >= 0.5)} | ${each(r.verifyThroughput)} | ≥ 0.5 |`,
      `| verify CPU per event, auditlock ÷ Tessera | ${range(r.verifyCpu)} | ${each(r.verifyCpu)} | |`,
      `| ingest CPU per event, format floor ÷ Tessera | ${range(f.floorIngestCpu)} | ${each(f.floorIngestCpu)} | (the least the format leaves: target ≤ 1.5) |`,
      `| verify throughput, format floor ÷ Tessera | ${range(f.floorVerifyThroughput)} | ${each(f.floorVerifyThroughput)} | (the most the format leaves: target ≥ 0.5) |`,
    );
  }
  lines.push(
    `| ingest CPU per event, auditlock ÷ format floor | ${range(f.ingestCpu)} | ${each(f.ingestCpu)} | |`,
    `| verify throughput, auditlock ÷ format floor | ${range(f.verifyThroughput)} | ${each(f.verifyThroughput)} | |`,
    `| verify CPU per event, auditlock ÷ format floor | ${range(f.verifyCpu)} | ${each(f.verifyCpu)} | |`,
    '',
  );
  return lines.join('\n');
}

function rate(n, ms) {
  return Math.round((n / ms) * 1000).toLocaleString('en-US');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  if (!existsSync(CLI)) throw new Error(`no CLI build at ${CLI}: run \`npm run build\``);
  const machine = machineInfo();
  const result = await benchPeerTessera({
    events: args.events,
    reps: args.reps,
    maxEvents: args['max-events'],
  });
  const meta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine,
    loadAverageEnd: machineInfo().loadAverage,
  };
  const markdown = renderPeer(result, meta);
  process.stdout.write(`${markdown}\n`);
  if (args.md) {
    mkdirSync(dirname(args.md), { recursive: true });
    writeFileSync(args.md, markdown);
  }
  if (args.doc) writeDocSection('peer-tessera', markdown);
  if (args.out) writeFileSync(args.out, `${JSON.stringify({ meta, result, markdown }, null, 2)}\n`);
}
