#!/usr/bin/env node
/**
 * The AWS emulator (moto, server mode) the integration tests run against. No npm dependencies.
 *
 *   node scripts/moto.mjs install   create .venv/ and install the pinned moto (if needed)
 *   node scripts/moto.mjs start     install if needed, start on a free loopback port, print the
 *                                   endpoint, stop on Ctrl-C  (`--port N` picks the port)
 *
 * `test/global-setup.ts` imports `ensureMoto` and `startMoto`. The pinned version lives in
 * `scripts/requirements-moto.txt`. The server logs to `.tmp/moto.log` (rewritten at each start),
 * installs to `.tmp/moto-install.log`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VENV = join(ROOT, '.venv');
const VENV_PYTHON = join(VENV, 'bin', 'python');
const REQUIREMENTS = join(ROOT, 'scripts', 'requirements-moto.txt');
const STAMP = join(VENV, '.auditlock-moto-stamp');
const TMP = join(ROOT, '.tmp');
const LOG = join(TMP, 'moto.log');
const INSTALL_LOG = join(TMP, 'moto-install.log');
const LOCK = join(TMP, 'moto-install.lock');

/**
 * Runs moto's server entry point, but exits as soon as the process that started it goes away, so a
 * killed test run never leaves an orphaned emulator behind (Linux does not do this for us).
 */
const SERVER_WRAPPER = `
import os, sys, threading, time
parent = os.getppid()
def watch():
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)
threading.Thread(target=watch, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
`;

/** What the AWS SDK needs to talk to moto: dummy credentials (no real ones ever leave) and a region. */
export const MOTO_CLIENT_ENV = Object.freeze({
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
});

/** Variables that would make the SDK send real credentials, read a profile or use other endpoints. */
export const HIDDEN_FROM_MOTO = Object.freeze([
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_KMS',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
]);

/**
 * Points `env` (changed in place, and returned) at the moto server at `endpoint`: sets
 * AWS_ENDPOINT_URL and {@link MOTO_CLIENT_ENV}, removes {@link HIDDEN_FROM_MOTO}.
 */
export function applyMotoEnv(env, endpoint) {
  for (const name of HIDDEN_FROM_MOTO) delete env[name];
  Object.assign(env, MOTO_CLIENT_ENV, { AWS_ENDPOINT_URL: endpoint });
  return env;
}

/** The exact moto version pinned in `scripts/requirements-moto.txt`. */
export function pinnedMotoVersion() {
  const match = /^moto(?:\[[^\]]*\])?==([^\s#]+)/m.exec(readFileSync(REQUIREMENTS, 'utf8'));
  if (!match?.[1]) throw new Error(`${REQUIREMENTS}: no exact moto pin (moto[server]==X.Y.Z)`);
  return match[1];
}

/**
 * Makes sure `.venv/` holds the pinned moto: creates the virtualenv and runs pip only when the
 * venv is missing or was installed from a different requirements file. Safe to call from several
 * processes at once (an install lock under `.tmp/`).
 * @returns {Promise<{ version: string, installed: boolean }>} `installed` is false when nothing had to be done.
 */
export async function ensureMoto() {
  const version = pinnedMotoVersion();
  if (isCurrent()) return { version, installed: false };
  mkdirSync(TMP, { recursive: true });
  await acquireLock();
  try {
    if (isCurrent()) return { version, installed: false };
    const python = process.env.PYTHON ?? 'python3';
    if (!existsSync(VENV_PYTHON)) await run(python, ['-m', 'venv', VENV]);
    // A venv whose pyvenv.cfg is gone runs as the base interpreter; pip would then install into
    // the system site-packages. Check, and let pip refuse too (--require-virtualenv).
    const inVenv = await output(VENV_PYTHON, [
      '-c',
      'import sys; print(sys.prefix != sys.base_prefix)',
    ]);
    if (inVenv.trim() !== 'True') {
      throw new Error(`${VENV} is not a working virtualenv; delete it and run again`);
    }
    await run(VENV_PYTHON, [
      '-m',
      'pip',
      'install',
      '--require-virtualenv',
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
      '-r',
      REQUIREMENTS,
    ]);
    const got = await output(VENV_PYTHON, [
      '-c',
      'import importlib.metadata as m; print(m.version("moto"))',
    ]);
    if (got.trim() !== version) {
      throw new Error(`moto ${got.trim()} installed, but ${version} is pinned; see ${INSTALL_LOG}`);
    }
    writeFileSync(STAMP, stampValue());
    return { version, installed: true };
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Starts moto on a free loopback port and waits until it answers.
 * @param {{ port?: number, readyTimeoutMs?: number }} [options]
 * @returns {Promise<{ endpoint: string, port: number, stop: () => Promise<void> }>}
 */
export async function startMoto(options = {}) {
  if (!isCurrent()) throw new Error('moto is not installed: run `node scripts/moto.mjs install`');
  mkdirSync(TMP, { recursive: true });
  let lastError;
  // A port found free can be taken before moto binds it; try a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const endpoint = `http://127.0.0.1:${port}`;
    // One server log per start, so it never grows without bound.
    const log = openSync(LOG, 'w');
    const child = spawn(
      VENV_PYTHON,
      ['-c', SERVER_WRAPPER, '-H', '127.0.0.1', '-p', String(port)],
      {
        cwd: ROOT,
        stdio: ['ignore', log, log],
        env: { ...process.env, PYTHONUNBUFFERED: '1' },
      },
    );
    closeSync(log);
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    };
    try {
      await waitReady(endpoint, exited, options.readyTimeoutMs ?? 30_000);
      return { endpoint, port, stop };
    } catch (err) {
      lastError = err;
      await stop();
      if (options.port !== undefined) break;
    }
  }
  throw new Error(`moto did not start (${String(lastError)}); see ${LOG}`);
}

function stampValue() {
  return createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
}

function isCurrent() {
  try {
    return (
      existsSync(join(VENV, 'bin', 'moto_server')) &&
      readFileSync(STAMP, 'utf8').trim() === stampValue()
    );
  } catch {
    return false;
  }
}

async function acquireLock() {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if (err?.code !== 'EEXIST') throw err;
    }
    if (lockIsStale()) rmSync(LOCK, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`);
    else await new Promise((r) => setTimeout(r, 500));
  }
}

function lockIsStale() {
  try {
    process.kill(Number(readFileSync(join(LOCK, 'pid'), 'utf8')), 0);
    return false;
  } catch (err) {
    // ESRCH: the holder is gone. A missing pid file means the holder is between mkdir and write.
    return err?.code === 'ESRCH';
  }
}

function run(command, args) {
  return new Promise((resolve, reject) => {
    const log = openSync(INSTALL_LOG, 'a');
    writeFileSync(log, `\n$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, {
      cwd: ROOT,
      stdio: ['ignore', log, log],
      env: { ...process.env, PIP_NO_INPUT: '1' },
    });
    closeSync(log);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} exited with ${code}; see ${INSTALL_LOG}`)),
    );
  });
}

function output(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
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

/** Binds port 0 on loopback, reads the port the kernel chose, and releases it. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitReady(endpoint, exited, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error('moto exited during startup');
    if (await answers(`${endpoint}/moto-api/`)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer from ${endpoint} within ${timeoutMs} ms`);
}

function answers(url) {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1_000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

async function cli(argv) {
  const [command, ...rest] = argv;
  if (command === 'install') {
    const started = Date.now();
    const { version, installed } = await ensureMoto();
    const how = installed
      ? `installed in ${((Date.now() - started) / 1000).toFixed(1)} s`
      : 'already installed';
    console.log(`moto ${version} ${how} (${VENV})`);
    return;
  }
  if (command === 'start') {
    const portFlag = rest.indexOf('--port');
    const port = portFlag >= 0 ? Number(rest[portFlag + 1]) : undefined;
    await ensureMoto();
    const moto = await startMoto(port === undefined ? {} : { port });
    console.log(`moto ${pinnedMotoVersion()} listening; logs in ${LOG}`);
    console.log(`export AWS_ENDPOINT_URL=${moto.endpoint}`);
    console.log(
      'export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1',
    );
    const shutdown = () => moto.stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    return;
  }
  console.error('usage: node scripts/moto.mjs install | start [--port N]');
  process.exitCode = 2;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
