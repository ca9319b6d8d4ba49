#!/usr/bin/env node
/**
 * CPU profiles of ingest and verify (V8's sampling profiler via node:inspector), summarised as the
 * functions with the most self time and the most inclusive time. Built-ins such as `JSON.parse`
 * are inlined into their caller and bill its self time; `(garbage collector)` is V8's collector,
 * `(anonymous)` without a file mostly zod's compiled validators (generated with `new Function`).
 * The verify profile covers three runs over one log.
 *
 *   node bench/profile.mjs [--events 50000] [--keep DIR] [--out result.json]
 *
 * `--keep DIR` also writes the raw `.cpuprofile` files (open them in Chrome DevTools).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FolderStore, verifyStore } from './lib/dist.mjs';
import { makeEventLines } from './lib/events.mjs';
import { ingestLines, makeKey } from './lib/fixture.mjs';
import { log, parseArgs } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export async function benchProfile({ events = 50_000, keep, top = 12 } = {}) {
  const { lines } = makeEventLines(events);
  const { signer, trusted } = await makeKey();
  const dir = makeTempDir('profile');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  const profileOf = async (name, fn) => {
    await fn(); // warm-up: profile steady state, not compilation
    await session.post('Profiler.start');
    await fn();
    const { profile } = await session.post('Profiler.stop');
    if (keep) writeFileSync(join(keep, `${name}.cpuprofile`), JSON.stringify(profile));
    return summarise(profile, top);
  };
  try {
    const ingest = await profileOf('ingest', async () => {
      const sub = makeTempDir('profile-ingest');
      try {
        await ingestLines({
          dir: sub,
          signer,
          count: events,
          lineAt: (i) => lines[i],
          encoding: 'identity',
        });
      } finally {
        removeTempDir(sub);
      }
    });
    log('profile: ingest done');
    await ingestLines({
      dir,
      signer,
      count: events,
      lineAt: (i) => lines[i],
      encoding: 'identity',
    });
    const verify = await profileOf('verify', async () => {
      for (let r = 0; r < 3; r++)
        await verifyStore(new FolderStore(dir), { trustedKeys: [trusted] });
    });
    log('profile: verify done');
    return { events, ingest, verify };
  } finally {
    session.disconnect();
    removeTempDir(dir);
  }
}

/** Top functions by self and by inclusive time, in percent of all samples. */
export function summarise(profile, top) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Samples taken while the inspector itself works (stopping the profiler) or while idle are not
  // the code under test.
  const excluded = (id) => {
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url } = nodes.get(cur).callFrame;
      if (functionName === '(idle)' || (functionName === 'post' && url.includes('inspector')))
        return true;
    }
    return false;
  };
  const time = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    if (excluded(id)) return;
    time.set(id, (time.get(id) ?? 0) + dt);
    total += dt;
  });
  const self = new Map();
  const inclusive = new Map();
  for (const [id, dt] of time) {
    const name = frameName(nodes.get(id).callFrame);
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const n = frameName(nodes.get(cur).callFrame);
      if (seen.has(n)) continue;
      seen.add(n);
      inclusive.set(n, (inclusive.get(n) ?? 0) + dt);
    }
  }
  const rank = (m, keepFrame) =>
    [...m]
      .filter(([name]) => keepFrame(name))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, t]) => ({ name, percent: (100 * t) / total }));
  const meaningful = (name) =>
    !name.startsWith('(root)') && !name.startsWith('(program)') && !name.includes('bench/');
  return {
    totalMs: total / 1000,
    self: rank(self, (n) => !n.startsWith('(root)') && !n.includes('bench/')),
    inclusive: rank(inclusive, (n) => meaningful(n) && !n.startsWith('(anonymous)')),
  };
}

function frameName({ functionName, url, lineNumber }) {
  const name = functionName || '(anonymous)';
  if (!url) return name;
  const path = url.startsWith('file://') ? relative(ROOT, fileURLToPath(url)) : url;
  return `${name} ${path}:${lineNumber + 1}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const result = await benchProfile({ events: args.events, keep: args.keep });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (args.out) writeFileSync(args.out, json);
  else process.stdout.write(json);
}
