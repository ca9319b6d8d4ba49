/**
 * Timing helpers. Every measurement records wall-clock time (what a user waits for) and the
 * process's CPU time (user + system, all threads), which another busy process on the machine
 * disturbs far less. Repetitions are summarised by their median.
 */

/** Runs `fn` once and returns its wall and CPU time in milliseconds (and its result). */
export async function timed(fn) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await fn();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, result };
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `{ median, min, max }` of `values`. */
export function summary(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Options `--name value` and flags `--name` from argv, as a plain object (numbers parsed). */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const name = arg.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[name] = true;
    else {
      out[name] = /^\d+(\.\d+)?$/.test(next) ? Number(next) : next;
      i++;
    }
  }
  return out;
}

/** Progress on stderr, so stdout stays machine-readable. */
export function log(message) {
  process.stderr.write(`  ${message}\n`);
}
