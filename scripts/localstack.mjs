#!/usr/bin/env node
/**
 * The second S3/KMS emulator: LocalStack's open-source core, run on the host (no Docker, no auth
 * token). No npm dependencies.
 *
 *   node scripts/localstack.mjs test [vitest args]  install if needed, start, run the S3/KMS
 *                                   integration tests (test/integration) against it, stop it;
 *                                   exits with the tests' status (`npm run test:localstack`)
 *   node scripts/localstack.mjs install             create .venv-localstack/ with the pins
 *   node scripts/localstack.mjs start [--port N]    start, print the endpoint, stop on Ctrl-C
 *
 * The recipe (checked on these machines, see ../shared/AWS-NOTES.md): Python >= 3.12 (the package
 * uses PEP 695 syntax whatever its metadata says), `localstack-core[base-runtime]==2026.3.0` with
 * the frozen set in scripts/requirements-localstack.txt, and the settings in {@link serverEnv}.
 * Without a suitable Python this FAILS with what to install: CI must not skip the second emulator
 * silently. Logs: .tmp/localstack.log (server), .tmp/localstack-install.log (pip).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureVenv,
  freePort,
  httpGet,
  listensOn,
  output,
  parentWatchingLauncher,
  spawnServer,
  waitReady,
} from './lib/emulator.mjs';
import { HIDDEN_FROM_MOTO } from './moto.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VENV = join(ROOT, '.venv-localstack');
const VENV_PYTHON = join(VENV, 'bin', 'python');
const REQUIREMENTS = join(ROOT, 'scripts', 'requirements-localstack.txt');
const TMP = join(ROOT, '.tmp');
const LOG = join(TMP, 'localstack.log');
const INSTALL_LOG = join(TMP, 'localstack-install.log');
const LOCK = join(TMP, 'localstack-install.lock');
const STAMP = '.auditlock-localstack-stamp';
/** Oldest Python LocalStack 2026.3 runs on; 3.13 is the one the recipe was tested with. */
const MIN_PYTHON = [3, 12];
const TESTED_PYTHON = '3.13';

/** What the AWS SDK needs to talk to LocalStack: its documented dummy credentials, a region. */
export const LOCALSTACK_CLIENT_ENV = Object.freeze({
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
});

/** Points `env` (changed in place, and returned) at the LocalStack server at `endpoint`. */
export function applyLocalStackEnv(env, endpoint) {
  for (const name of HIDDEN_FROM_MOTO) delete env[name];
  Object.assign(env, LOCALSTACK_CLIENT_ENV, { AWS_ENDPOINT_URL: endpoint });
  return env;
}

/** The exact localstack-core version pinned in `scripts/requirements-localstack.txt`. */
export function pinnedLocalStackVersion() {
  const match = /^localstack-core(?:\[[^\]]*\])?==([^\s#]+)/m.exec(
    readFileSync(REQUIREMENTS, 'utf8'),
  );
  if (!match?.[1]) throw new Error(`${REQUIREMENTS}: no exact localstack-core pin`);
  return match[1];
}

/**
 * Finds a Python >= 3.12 with `venv`: `$AUDITLOCK_PYTHON` if set (and then only it), else
 * python3.13 / python3.12 / python3 on PATH and the versions pyenv has installed (its shims only
 * answer for the active version, so the version folders are asked directly). 3.13 is preferred.
 * @returns {Promise<{ python: string, version: string }>}
 * @throws Error saying what was found and what to install
 */
export async function findPython() {
  const explicit = process.env.AUDITLOCK_PYTHON;
  const candidates = explicit
    ? [explicit]
    : ['python3.13', 'python3.12', ...pyenvPythons(), 'python3'];
  const seen = [];
  const fit = [];
  for (const python of candidates) {
    const version = await pythonVersion(python);
    seen.push(`${python}: ${version ?? 'not runnable, or no venv module'}`);
    if (version && atLeast(version, MIN_PYTHON)) fit.push({ python, version });
  }
  const best =
    fit.find((c) => c.version.startsWith(`${TESTED_PYTHON}.`)) ??
    fit.sort((a, b) => compareVersions(a.version, b.version))[0];
  if (best) return best;
  throw new Error(
    [
      `LocalStack ${pinnedLocalStackVersion()} needs Python >= ${MIN_PYTHON.join('.')} with the venv module; none was found.`,
      ...seen.map((s) => `  ${s}`),
      `Install one (tested: ${TESTED_PYTHON}, e.g. \`pyenv install ${TESTED_PYTHON}\` or your system's python${TESTED_PYTHON} and python${TESTED_PYTHON}-venv packages),`,
      'or point AUDITLOCK_PYTHON at its interpreter.',
    ].join('\n'),
  );
}

/** `<pyenv root>/versions/3.x.y/bin/python3` for every installed CPython 3.12 or newer. */
function pyenvPythons() {
  const root = process.env.PYENV_ROOT ?? join(homedir(), '.pyenv');
  let names;
  try {
    names = readdirSync(join(root, 'versions'));
  } catch {
    return [];
  }
  return names
    .filter((n) => /^3\.\d+\.\d+$/.test(n) && atLeast(n, MIN_PYTHON))
    .sort(compareVersions)
    .map((n) => join(root, 'versions', n, 'bin', 'python3'))
    .filter((p) => existsSync(p));
}

async function pythonVersion(python) {
  try {
    const out = await output(python, [
      '-c',
      "import sys, venv; print('%d.%d.%d' % sys.version_info[:3])",
    ]);
    return /^\d+\.\d+\.\d+$/.test(out.trim()) ? out.trim() : undefined;
  } catch {
    return undefined;
  }
}

const parts = (v) => v.split('.').map(Number);
const atLeast = (v, min) => compareVersions(v, min.join('.')) <= 0;
/** Newest first. */
function compareVersions(a, b) {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++)
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
  return 0;
}

/** The virtualenv for {@link ensureVenv}, built with `python`. */
function venvSpec(python, version) {
  const minor = version.split('.').slice(0, 2).join('.');
  return {
    dir: VENV,
    requirements: REQUIREMENTS,
    python,
    stamp: STAMP,
    // A venv from another interpreter is rebuilt: the frozen wheels are per Python version.
    stampExtra: minor,
    marker: VENV_PYTHON,
    lock: LOCK,
    log: INSTALL_LOG,
    accept: async (venvPython) => (await pythonVersion(venvPython))?.startsWith(`${minor}.`),
    verify: async (venvPython) => {
      const got = (
        await output(venvPython, [
          '-c',
          'import importlib.metadata as m; print(m.version("localstack-core"))',
        ])
      ).trim();
      const want = pinnedLocalStackVersion();
      if (got !== want)
        throw new Error(`localstack-core ${got} installed, ${want} pinned; see ${INSTALL_LOG}`);
    },
  };
}

/**
 * Makes sure `.venv-localstack/` holds the pinned LocalStack (about 30 s the first time).
 * @returns {Promise<{ version: string, python: string, installed: boolean }>}
 * @throws Error when no Python >= 3.12 is found, or the install fails (see the install log)
 */
export async function ensureLocalStack() {
  const { python, version } = await findPython();
  mkdirSync(TMP, { recursive: true });
  const installed = await ensureVenv(venvSpec(python, version));
  return { version: pinnedLocalStackVersion(), python: `${python} (${version})`, installed };
}

/**
 * The server's environment: only what it needs, nothing inherited that LocalStack would read as
 * configuration. Each setting is one the recipe needs on these machines.
 */
function serverEnv(port, filesystemRoot) {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];
  return {
    ...Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : []))),
    // Its default server binds 0.0.0.0 whatever GATEWAY_LISTEN says; hypercorn honours it.
    GATEWAY_LISTEN: `127.0.0.1:${port}`,
    GATEWAY_SERVER: 'hypercorn',
    SERVICES: 's3,kms',
    EAGER_SERVICE_LOADING: '1',
    PERSISTENCE: '0',
    // The sandbox has /.dockerenv: without this LocalStack takes the host for its own container
    // and rewrites system files.
    OVERRIDE_IN_DOCKER: '0',
    DNS_ADDRESS: '0',
    SKIP_SSL_CERT_DOWNLOAD: '1',
    DISABLE_EVENTS: '1',
    // Per run: its state, temp files and "container" paths stay inside, removed on stop.
    FILESYSTEM_ROOT: filesystemRoot,
    PYTHONUNBUFFERED: '1',
  };
}

/**
 * Starts LocalStack on a free loopback port (or `port`) and waits until its health endpoint
 * reports S3 and KMS running AND the listening socket belongs to the child it started: LocalStack
 * prints "Ready." even when another process holds the port.
 * @param {{ port?: number, readyTimeoutMs?: number }} [options]
 * @returns {Promise<{ endpoint: string, port: number, stop: () => Promise<void> }>}
 * @throws Error if it is not installed, or does not become ready (see .tmp/localstack.log)
 */
export async function startLocalStack(options = {}) {
  if (!existsSync(join(VENV, STAMP)))
    throw new Error('LocalStack is not installed: run `node scripts/localstack.mjs install`');
  mkdirSync(TMP, { recursive: true });
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const endpoint = `http://127.0.0.1:${port}`;
    const filesystemRoot = mkdtempSync(join(TMP, 'localstack-fs-'));
    const server = spawnServer(
      VENV_PYTHON,
      ['-c', parentWatchingLauncher('localstack.runtime.main')],
      { cwd: ROOT, log: LOG, env: serverEnv(port, filesystemRoot), killAfterMs: 10_000 },
    );
    const stop = async () => {
      await server.stop();
      rmSync(filesystemRoot, { recursive: true, force: true });
    };
    const ready = async () => {
      if (!server.alive()) return false;
      const health = await httpGet(`${endpoint}/_localstack/health`);
      if (health?.status !== 200) return false;
      let services;
      try {
        services = JSON.parse(health.body).services ?? {};
      } catch {
        return false;
      }
      const up = (s) => services[s] === 'running' || services[s] === 'available';
      if (!up('s3') || !up('kms')) return false;
      const ours = listensOn(server.child.pid, port);
      if (ours === false) throw new Error(`port ${port} answers, but not from our LocalStack`);
      return server.alive();
    };
    try {
      await waitReady('LocalStack', ready, server.exited, options.readyTimeoutMs ?? 120_000);
      return { endpoint, port, stop };
    } catch (err) {
      lastError = err;
      await stop();
      if (options.port !== undefined) break;
    }
  }
  throw new Error(`LocalStack did not start (${String(lastError)}); see ${LOG}`);
}

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Runs the S3/KMS integration tests against a fresh LocalStack; resolves to their exit status. */
async function runTests(vitestArgs) {
  const started = Date.now();
  const { version, python, installed } = await ensureLocalStack();
  console.log(
    `LocalStack ${version} ${installed ? `installed in ${seconds(started)}` : 'already installed'} (${python})`,
  );
  const booted = Date.now();
  const server = await startLocalStack();
  console.log(`LocalStack listening on ${server.endpoint} (ready in ${seconds(booted)})`);
  const stopOnSignal = (signal) => {
    server.stop().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const testsStarted = Date.now();
  try {
    const env = applyLocalStackEnv({ ...process.env }, server.endpoint);
    env.AUDITLOCK_TEST_TARGET = 'localstack';
    const args = vitestArgs.length > 0 ? vitestArgs : ['test/integration'];
    const child = spawn('npx', ['vitest', 'run', ...args], { cwd: ROOT, env, stdio: 'inherit' });
    const code = await new Promise((resolve) => {
      child.once('error', () => resolve(1));
      child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    console.log(`integration tests on LocalStack: exit ${code} after ${seconds(testsStarted)}`);
    return code;
  } finally {
    await server.stop();
    console.log(`LocalStack stopped; whole run ${seconds(started)}`);
  }
}

async function cli(argv) {
  const [command, ...rest] = argv;
  if (command === 'test') {
    process.exitCode = await runTests(rest);
    return;
  }
  if (command === 'install') {
    const started = Date.now();
    const { version, python, installed } = await ensureLocalStack();
    const how = installed ? `installed in ${seconds(started)}` : 'already installed';
    console.log(`LocalStack ${version} ${how} (${VENV}, ${python})`);
    return;
  }
  if (command === 'start') {
    const portFlag = rest.indexOf('--port');
    const port = portFlag >= 0 ? Number(rest[portFlag + 1]) : undefined;
    await ensureLocalStack();
    const server = await startLocalStack(port === undefined ? {} : { port });
    console.log(`LocalStack ${pinnedLocalStackVersion()} listening; logs in ${LOG}`);
    console.log(`export AWS_ENDPOINT_URL=${server.endpoint} AUDITLOCK_TEST_TARGET=localstack`);
    console.log('export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1');
    const shutdown = () => server.stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    return;
  }
  console.error(
    'usage: node scripts/localstack.mjs test [vitest args] | install | start [--port N]',
  );
  process.exitCode = 2;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
