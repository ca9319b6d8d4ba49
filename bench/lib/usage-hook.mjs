/**
 * Preloaded into a benchmarked Node process (`node --import <this file> ...`): when the process
 * exits, however it exits, writes its own resource usage as JSON to the file named by
 * `AUDITLOCK_BENCH_USAGE`: user and system CPU milliseconds (all threads) and peak RSS (KiB), as
 * `process.resourceUsage()` reads them from the operating system. The Go peer reports the same
 * three figures from getrusage(2), so both sides are measured the same way.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.AUDITLOCK_BENCH_USAGE;
if (target) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(
      target,
      JSON.stringify({
        userMs: u.userCPUTime / 1000,
        sysMs: u.systemCPUTime / 1000,
        maxRssKiB: u.maxRSS,
      }),
    );
  });
}
