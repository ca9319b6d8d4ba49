#!/usr/bin/env node
/**
 * Verifies one store in a process of its own, with default Node settings, and reports its peak
 * resident set size (`process.resourceUsage().maxRSS`, KiB) with the time taken. Started by
 * bench/verify-rss.mjs; prints one JSON line.
 *
 * On Linux `maxRSS` is never below the RSS of the process that spawned this one (the kernel
 * carries the parent's high-water mark across fork and exec), so the spawner must be small;
 * `VmHWM` from /proc/self/status, this address space's own peak, is reported beside it as a check.
 *
 *   node bench/verify-child.mjs --dir STORE --spki BASE64 [--strict]
 */
import { readFileSync } from 'node:fs';
import { FolderStore, verifyStore } from './lib/dist.mjs';
import { parseArgs } from './lib/measure.mjs';

const args = parseArgs();
const baselineRssKiB = process.resourceUsage().maxRSS;
let findings = 0;
const cpu = process.cpuUsage();
const start = performance.now();
const result = await verifyStore(new FolderStore(args.dir), {
  trustedKeys: [{ spki: new Uint8Array(Buffer.from(args.spki, 'base64')) }],
  strictEntries: Boolean(args.strict),
  onFinding: () => findings++,
});
const wallMs = performance.now() - start;
const used = process.cpuUsage(cpu);
process.stdout.write(
  `${JSON.stringify({
    ok: result.ok && findings === 0,
    entries: result.logs.reduce((s, l) => s + l.entries, 0),
    segments: result.logs.reduce((s, l) => s + l.segments, 0),
    bytes: result.logs.reduce((s, l) => s + l.bytes, 0),
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    baselineRssKiB,
    maxRssKiB: process.resourceUsage().maxRSS,
    vmHwmKiB: vmHwmKiB(),
    heapUsedBytes: process.memoryUsage().heapUsed,
  })}\n`,
);

/** Peak RSS of this address space from /proc (Linux), or undefined elsewhere. */
function vmHwmKiB() {
  try {
    const m = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
