/**
 * Whole-process measurements: a command run to its end, its wall time measured by the spawner, its
 * CPU time and peak RSS from its own resource usage (getrusage(2)). Node processes report theirs
 * through the preloaded lib/usage-hook.mjs; other programs print `userMs`, `sysMs`, `maxRssKiB` in
 * their JSON output (the Go peer does). On Linux a child's peak RSS is never below its spawner's,
 * so a spawner keeps itself small.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The CLI of the build under test (AUDITLOCK_BENCH_DIST, as lib/dist.mjs). */
export const CLI = join(
  resolve(process.env.AUDITLOCK_BENCH_DIST ?? join(ROOT, 'dist')),
  'cli',
  'main.js',
);
const HOOK = fileURLToPath(new URL('./usage-hook.mjs', import.meta.url));

/**
 * Runs one command to its end. @returns wall ms, the child's CPU ms and peak RSS (from `usage`,
 * which reads them after exit), and its stdout parsed as JSON (the last line).
 */
export function runMeasured(cmd, args, { usageFile, env } = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env, ...(usageFile ? { AUDITLOCK_BENCH_USAGE: usageFile } : {}) },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - start;
      // auditlock exits 0 (clean) here; anything else means the comparison is void.
      if (code !== 0) return reject(new Error(`${cmd} ${args[0]} exited ${code}: ${err}`));
      const json = lastJson(out);
      const usage = usageFile ? JSON.parse(readFileSync(usageFile, 'utf8')) : json;
      resolve({
        wallMs,
        cpuMs: usage.userMs + usage.sysMs,
        maxRssKiB: usage.maxRssKiB,
        json,
      });
    });
  });
}

/** The JSON value the command printed: its whole stdout, or else its last line. */
function lastJson(out) {
  try {
    return JSON.parse(out);
  } catch {
    return JSON.parse(out.trim().split('\n').pop() ?? 'null');
  }
}

/** Runs `auditlock ARGS` (the build under test); `work` is a folder for its usage file. */
export function auditlockCli(args, work) {
  return nodeMeasured(CLI, args, work);
}

/** Runs the Node script `script` with ARGS, measured as {@link auditlockCli} is. */
export function nodeMeasured(script, args, work) {
  return runMeasured(process.execPath, ['--import', HOOK, script, ...args], {
    usageFile: join(work, 'usage.json'),
  });
}
