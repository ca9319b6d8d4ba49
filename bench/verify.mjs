#!/usr/bin/env node
/**
 * Verify throughput: `verifyStore` on a `FolderStore` holding a log the archiver wrote (same events
 * as bench/ingest.mjs), against the verify floor measured in the same process on the same stored
 * entries (lib/fixture.mjs). Files are read through the page cache (the log was just written), so
 * this measures the verifier, not the disk. Each repetition runs floor, default verify, strict
 * verify; the gzip log is verified once per repetition too (no target).
 *
 *   node bench/verify.mjs [--events 200000] [--reps 3] [--out result.json]
 */
import { writeFileSync } from 'node:fs';
import { FolderStore, verifyStore } from './lib/dist.mjs';
import { eventStream } from './lib/events.mjs';
import { ingestLines, makeKey, readEntries, storedBytes, verifyFloor } from './lib/fixture.mjs';
import { log, median, parseArgs, summary, timed } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

export async function benchVerify({ events = 200_000, reps = 3 } = {}) {
  const { signer, trusted } = await makeKey();
  const { lineAt } = eventStream();
  const dirs = {};
  try {
    for (const encoding of ['identity', 'gzip']) {
      dirs[encoding] = makeTempDir(`verify-${encoding}`);
      log(`verify: writing a ${events}-event ${encoding} log`);
      await ingestLines({ dir: dirs[encoding], signer, count: events, lineAt, encoding });
    }
    const entries = readEntries(dirs.identity);
    const entryBytes = entries.reduce((s, e) => s + e.length, 0);
    const verifyOnce = (dir, strictEntries) =>
      timed(async () => {
        let findings = 0;
        const r = await verifyStore(new FolderStore(dir), {
          trustedKeys: [trusted],
          strictEntries,
          onFinding: () => findings++,
        });
        if (!r.ok || findings > 0 || r.logs[0]?.entries !== events)
          throw new Error(`verify found problems: ${JSON.stringify(r.logs)}`);
      });
    // Warm-up.
    verifyFloor(entries.slice(0, 20_000));
    await verifyOnce(dirs.identity, false);

    const runs = [];
    for (let r = 0; r < reps; r++) {
      const floor = await timed(() => verifyFloor(entries));
      const run = await verifyOnce(dirs.identity, false);
      const strict = await verifyOnce(dirs.identity, true);
      const gzip = await verifyOnce(dirs.gzip, false);
      runs.push({ floor, run, strict, gzip });
      log(
        `verify rep ${r + 1}/${reps}: ${rate(events, run.wallMs)} events/s, floor ${rate(events, floor.wallMs)} events/s, ratio ${(floor.wallMs / run.wallMs).toFixed(2)}; strict ${rate(events, strict.wallMs)}/s; gzip ${rate(events, gzip.wallMs)}/s`,
      );
    }
    const perSec = (ms) => (events / ms) * 1000;
    const mb = (ms) => entryBytes / 1e6 / (ms / 1000);
    const line = (pick) => ({
      eventsPerSec: median(runs.map((x) => perSec(pick(x).wallMs))),
      mbPerSec: median(runs.map((x) => mb(pick(x).wallMs))),
      cpuUsPerEvent: median(runs.map((x) => (pick(x).cpuMs * 1000) / events)),
      ratio: summary(runs.map((x) => x.floor.wallMs / pick(x).wallMs)),
      cpuRatio: median(runs.map((x) => x.floor.cpuMs / pick(x).cpuMs)),
    });
    return {
      events,
      reps,
      entryBytes,
      meanEntryBytes: entryBytes / events,
      storedBytes: { identity: storedBytes(dirs.identity), gzip: storedBytes(dirs.gzip) },
      floor: line((x) => x.floor),
      identity: line((x) => x.run),
      strict: line((x) => x.strict),
      gzip: line((x) => x.gzip),
    };
  } finally {
    for (const dir of Object.values(dirs)) removeTempDir(dir);
  }
}

function rate(n, ms) {
  return Math.round((n / ms) * 1000).toLocaleString('en-US');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const result = await benchVerify({ events: args.events, reps: args.reps });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (args.out) writeFileSync(args.out, json);
  else process.stdout.write(json);
}
