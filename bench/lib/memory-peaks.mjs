/**
 * Preloaded into a benchmarked Node process (`node --import <this file> ...`) beside
 * lib/usage-hook.mjs: samples `process.memoryUsage()` every 25 ms and, at exit, writes to the file
 * named by `AUDITLOCK_BENCH_MEMORY` the highest V8 heap (committed, `heapTotal`) and `ArrayBuffer`
 * memory (`arrayBuffers`: backing stores outside the heap, freed only when V8 collects their
 * objects) it saw, in MiB. The peak RSS itself comes from the operating system (usage-hook.mjs);
 * these say which part of the process it was.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.AUDITLOCK_BENCH_MEMORY;
if (target) {
  const peak = { heapTotal: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    if (m.heapTotal > peak.heapTotal) peak.heapTotal = m.heapTotal;
    if (m.arrayBuffers > peak.arrayBuffers) peak.arrayBuffers = m.arrayBuffers;
  };
  setInterval(sample, 25).unref();
  process.on('exit', () => {
    sample();
    const mib = (n) => n / 1024 / 1024;
    writeFileSync(
      target,
      JSON.stringify({ heapMiB: mib(peak.heapTotal), arrayBuffersMiB: mib(peak.arrayBuffers) }),
    );
  });
}
