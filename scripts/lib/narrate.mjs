// Shared by the demos (scripts/demo.mjs, scripts/demo-s3.mjs): narrated steps, and running the
// real built CLI with its command line shown and its exit status checked.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const SHOWN_WIDTH = 150;

/** A step of the demo did not behave as expected. */
export class DemoFailure extends Error {}

export const say = (text = '') => process.stdout.write(`${text}\n`);

/** Numbered step headings: `[3/7] title`. */
export function stepper(total) {
  let step = 0;
  return (title) => {
    step++;
    say();
    say(`[${step}/${total}] ${title}`);
  };
}

export function check(condition, message) {
  if (!condition) throw new DemoFailure(message);
}

/** A line shortened to the demo's display width. */
export const clip = (line) =>
  line.length > SHOWN_WIDTH ? `${line.slice(0, SHOWN_WIDTH - 1)}…` : line;

/** Indents a child's output line by line as it arrives, clipping long lines. */
function relay(stream, sink) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) sink(`    ${clip(l)}\n`);
  });
  stream.on('end', () => {
    if (pending) sink(`    ${clip(pending)}\n`);
  });
}

/**
 * Runs `auditlock <args>` (with `env`, default the current one), printing the command and (unless
 * `quiet`) its output, and checks its exit status.
 * @throws DemoFailure if the status is not `expect`.
 */
export function auditlock(args, { expect = 0, quiet = false, env = process.env } = {}) {
  say(`  $ auditlock ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    if (!quiet) {
      relay(child.stdout, (t) => process.stdout.write(t));
      relay(child.stderr, (t) => process.stdout.write(t));
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== expect) {
        if (quiet) say(`${stdout}${stderr}`.replace(/^/gm, '    '));
        reject(
          new DemoFailure(`auditlock ${args[0]} exited ${code ?? signal}, expected ${expect}`),
        );
      } else {
        say(`    -> exit ${code}${expect === 0 ? '' : ' (expected)'}`);
        resolvePromise({ code, stdout, stderr });
      }
    });
  });
}

/**
 * Adds one (mod 10) to the last digit of the first IPv4 source address in a segment's entries:
 * one byte changed inside one event (the attacker's edit in both demos). Returns the event id and
 * the address before and after. `seq` names the segment in the error if there is no such address.
 */
export function flipOneDigit(bytes, seq) {
  const marker = Buffer.from('"ip":"');
  for (let at = bytes.indexOf(marker); at >= 0; at = bytes.indexOf(marker, at + 1)) {
    const start = at + marker.length;
    const end = bytes.indexOf(0x22, start);
    const before = bytes.subarray(start, end).toString();
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(before)) continue;
    const last = end - 1;
    bytes[last] = 0x30 + ((bytes[last] - 0x30 + 1) % 10);
    const after = bytes.subarray(start, end).toString();
    const line = bytes
      .subarray(bytes.lastIndexOf(0x0a, at) + 1, bytes.indexOf(0x0a, at))
      .toString();
    // Canonical JSON sorts keys, so the event's own id comes right before its outcome.
    const id = /"id":"(?<id>[^"]+)","outcome"/.exec(line)?.groups?.id ?? '?';
    return { id, before, after };
  }
  throw new DemoFailure(`no event with an IPv4 source address in segment ${seq}`);
}
