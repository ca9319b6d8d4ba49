// What the two AWS emulators the tests run against (scripts/moto.mjs, scripts/localstack.mjs) have
// in common: a pinned Python package in a project-local virtualenv, installed at most once at a
// time, and a server child on a free loopback port that is stopped for sure (SIGTERM, then
// SIGKILL by PID). No npm dependencies, so it runs before `npm ci` has built anything.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * Python code that runs `module` as `__main__`, but exits as soon as the process that started it
 * goes away, so a killed test run never leaves an orphaned emulator behind (Linux does not do
 * this for us). The module's own arguments follow on the command line.
 */
export function parentWatchingLauncher(module) {
  return `
import os, runpy, sys, threading, time
parent = os.getppid()
def watch():
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)
threading.Thread(target=watch, daemon=True).start()
sys.argv[0] = ${JSON.stringify(module)}
runpy.run_module(${JSON.stringify(module)}, run_name='__main__', alter_sys=True)
`;
}

/**
 * Makes sure the virtualenv `venv.dir` holds exactly what `venv.requirements` pins: creates it
 * with `venv.python` when missing (or when `venv.accept` rejects the one there) and runs pip only
 * when the stamp file `venv.stamp` does not match the requirements file (and `venv.stampExtra`,
 * e.g. the interpreter). Safe to call from several processes at once (a lock folder).
 * @param {{ dir: string, requirements: string, python: string, stamp: string,
 *   stampExtra?: string, marker: string, lock: string, log: string,
 *   accept?: (venvPython: string) => Promise<boolean>,
 *   verify: (venvPython: string) => Promise<void> }} venv
 * @returns {Promise<boolean>} true if it installed, false if nothing had to be done
 * @throws Error naming the install log when venv creation or pip fails, or `verify` throws
 */
export async function ensureVenv(venv) {
  const python = join(venv.dir, 'bin', 'python');
  if (venvCurrent(venv)) return false;
  mkdirSync(dirname(venv.lock), { recursive: true });
  await acquireLock(venv.lock);
  try {
    if (venvCurrent(venv)) return false;
    if (existsSync(python) && venv.accept && !(await venv.accept(python).catch(() => false)))
      rmSync(venv.dir, { recursive: true, force: true });
    if (!existsSync(python)) await run(venv.python, ['-m', 'venv', venv.dir], venv.log);
    // A venv whose pyvenv.cfg is gone runs as the base interpreter; pip would then install into
    // the system site-packages. Check, and let pip refuse too (--require-virtualenv).
    const inVenv = await output(python, ['-c', 'import sys; print(sys.prefix != sys.base_prefix)']);
    if (inVenv.trim() !== 'True')
      throw new Error(`${venv.dir} is not a working virtualenv; delete it and run again`);
    await run(
      python,
      [
        '-m',
        'pip',
        'install',
        '--require-virtualenv',
        '--disable-pip-version-check',
        '--no-input',
        '--quiet',
        '-r',
        venv.requirements,
      ],
      venv.log,
    );
    await venv.verify(python);
    writeFileSync(join(venv.dir, venv.stamp), stampValue(venv));
    return true;
  } finally {
    rmSync(venv.lock, { recursive: true, force: true });
  }
}

function stampValue(venv) {
  const hash = createHash('sha256').update(readFileSync(venv.requirements));
  if (venv.stampExtra !== undefined) hash.update(`\0${venv.stampExtra}`);
  return hash.digest('hex');
}

/** Whether {@link ensureVenv} has nothing to do for `venv` (marker present, stamp matches). */
export function venvCurrent(venv) {
  try {
    return (
      existsSync(venv.marker) &&
      readFileSync(join(venv.dir, venv.stamp), 'utf8').trim() === stampValue(venv)
    );
  } catch {
    return false;
  }
}

/**
 * Runs `command` and returns its stdout.
 * @throws Error when it cannot start or exits non-zero
 */
export function output(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'], ...options });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} exited with ${code}`)),
    );
  });
}

/** Runs `command`, appending its output to `log`; rejects naming the log on a non-zero exit. */
function run(command, args, log) {
  return new Promise((resolve, reject) => {
    const fd = openSync(log, 'a');
    writeFileSync(fd, `\n$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, PIP_NO_INPUT: '1' },
    });
    closeSync(fd);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}; see ${log}`)),
    );
  });
}

async function acquireLock(lock) {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if (err?.code !== 'EEXIST') throw err;
    }
    if (lockIsStale(lock)) rmSync(lock, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
    else await new Promise((r) => setTimeout(r, 500));
  }
}

function lockIsStale(lock) {
  try {
    process.kill(Number(readFileSync(join(lock, 'pid'), 'utf8')), 0);
    return false;
  } catch (err) {
    // ESRCH: the holder is gone. A missing pid file means the holder is between mkdir and write.
    return err?.code === 'ESRCH';
  }
}

/** Binds port 0 on loopback, reads the port the kernel chose, and releases it. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts a server child with its output in `log` (rewritten at each start) and returns it with a
 * `stop()` that sends SIGTERM, then SIGKILL by PID after `killAfterMs`, and resolves once the
 * child is gone.
 */
export function spawnServer(command, args, { log, env, cwd, killAfterMs = 5_000 }) {
  const fd = openSync(log, 'w');
  const child = spawn(command, args, { cwd, stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (!alive()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (alive() && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, killAfterMs);
    await exited;
    clearTimeout(timer);
  };
  return { child, exited, alive, stop };
}

/**
 * Waits until `ready()` resolves true, polling every 200 ms.
 * @throws Error if the server exits first (`exited` settles) or `timeoutMs` passes
 */
export async function waitReady(name, ready, exited, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let gone;
  exited.then((how) => {
    gone = how;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${name} exited during startup (${gone.code ?? gone.signal})`);
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} not ready within ${timeoutMs} ms`);
}

/** GETs `url` (1 s timeout): `{ status, body }`, or `undefined` when nothing answers. */
export function httpGet(url) {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.once('error', () => resolve(undefined));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}

/**
 * Whether process `pid` itself holds the listening TCP socket on `port` (Linux: /proc/net/tcp*
 * inodes matched against /proc/<pid>/fd). `undefined` where /proc cannot tell (other systems).
 * An emulator that reports ready while another process holds its port answers through that
 * other process: this tells the two apart.
 */
export function listensOn(pid, port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; column 9 is the socket inode.
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A' && cols[9]) inodes.add(cols[9]);
    }
  }
  let fds;
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1])) return true;
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return false;
}
