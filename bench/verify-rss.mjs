#!/usr/bin/env node
/**
 * Memory: verifies a long log (default 1,000,000 ~1 KB events, about 1.1 GB on disk) in a child
 * process and reads the child's peak RSS. The log is written once by the archiver (identity
 * encoding, default 4,096 events per segment) in another child, into a temp folder removed
 * afterwards. This process stays small, because on Linux a child's `maxRSS` starts at the RSS of
 * the process that spawns it (see bench/verify-child.mjs). Target: peak RSS under 256 MiB.
 *
 *   node bench/verify-rss.mjs [--events 1000000] [--out result.json]
 *   node bench/verify-rss.mjs --build DIR --events N     (writes the log; internal)
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { log, parseArgs } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

export const RSS_LIMIT_KIB = 256 * 1024;

const node = (script, args) =>
  JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    }),
  );

export async function benchVerifyRss({ events = 1_000_000 } = {}) {
  const dir = makeTempDir('rss');
  try {
    log(`rss: writing a ${events.toLocaleString('en-US')}-event log`);
    const built = node('verify-rss.mjs', ['--build', dir, '--events', String(events)]);
    log(
      `rss: written in ${(built.buildMs / 1000).toFixed(1)} s (${(built.storedBytes / 1e9).toFixed(2)} GB); verifying in a child process`,
    );
    const spawnerRssKiB = Math.round(process.memoryUsage().rss / 1024);
    const r = node('verify-child.mjs', ['--dir', dir, '--spki', built.spki]);
    if (!r.ok || r.entries !== events) throw new Error(`verify failed: ${JSON.stringify(r)}`);
    log(
      `rss: verified in ${(r.wallMs / 1000).toFixed(1)} s, peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB`,
    );
    return {
      events,
      storedBytes: built.storedBytes,
      segments: r.segments,
      buildMs: built.buildMs,
      buildEventsPerSec: (events / built.buildMs) * 1000,
      verifyMs: r.wallMs,
      verifyCpuMs: r.cpuMs,
      verifyEventsPerSec: (events / r.wallMs) * 1000,
      baselineRssKiB: r.baselineRssKiB,
      maxRssKiB: r.maxRssKiB,
      vmHwmKiB: r.vmHwmKiB,
      spawnerRssKiB,
      limitKiB: RSS_LIMIT_KIB,
    };
  } finally {
    removeTempDir(dir);
  }
}

/** Writes the log into `dir` (this process only builds, and exits). */
async function build(dir, events) {
  const { eventStream } = await import('./lib/events.mjs');
  const { ingestLines, makeKey, storedBytes } = await import('./lib/fixture.mjs');
  const { signer, trusted } = await makeKey();
  const start = performance.now();
  await ingestLines({
    dir,
    signer,
    count: events,
    lineAt: eventStream().lineAt,
    encoding: 'identity',
  });
  return {
    buildMs: performance.now() - start,
    storedBytes: storedBytes(dir),
    spki: Buffer.from(trusted.spki).toString('base64'),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  if (args.build) {
    process.stdout.write(`${JSON.stringify(await build(args.build, args.events))}\n`);
  } else {
    const result = await benchVerifyRss({ events: args.events });
    const json = `${JSON.stringify(result, null, 2)}\n`;
    if (args.out) writeFileSync(args.out, json);
    else process.stdout.write(json);
  }
}
