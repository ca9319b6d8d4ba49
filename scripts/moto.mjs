#!/usr/bin/env node
/**
 * The AWS emulator (moto, server mode) the integration tests run against. No npm dependencies.
 *
 *   node scripts/moto.mjs install   create .venv/ and install the pinned moto and pyarrow (if needed)
 *   node scripts/moto.mjs start     install if needed, start on a free loopback port, print the
 *                                   endpoint, stop on Ctrl-C  (`--port N` picks the port)
 *
 * `test/global-setup.ts` imports `ensureMoto` and `startMoto`. The pinned version lives in
 * `scripts/requirements-moto.txt`. The server logs to `.tmp/moto.log` (rewritten at each start),
 * installs to `.tmp/moto-install.log`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureVenv,
  freePort,
  httpGet,
  output,
  parentWatchingLauncher,
  spawnServer,
  venvCurrent,
  waitReady,
} from './lib/emulator.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VENV = join(ROOT, '.venv');
const VENV_PYTHON = join(VENV, 'bin', 'python');
const REQUIREMENTS = join(ROOT, 'scripts', 'requirements-moto.txt');
const TMP = join(ROOT, '.tmp');
const LOG = join(TMP, 'moto.log');
const INSTALL_LOG = join(TMP, 'moto-install.log');
const LOCK = join(TMP, 'moto-install.lock');

/** The virtualenv, as {@link ensureVenv} and {@link venvCurrent} take it. */
const MOTO_VENV = {
  dir: VENV,
  requirements: REQUIREMENTS,
  python: process.env.PYTHON ?? 'python3',
  stamp: '.auditlock-moto-stamp',
  marker: join(VENV, 'bin', 'moto_server'),
  lock: LOCK,
  log: INSTALL_LOG,
  verify: async (python) => {
    const got = (
      await output(python, ['-c', 'import importlib.metadata as m; print(m.version("moto"))'])
    ).trim();
    const version = pinnedMotoVersion();
    if (got !== version)
      throw new Error(`moto ${got} installed, but ${version} is pinned; see ${INSTALL_LOG}`);
    // The OCSF export tests read Parquet back with pyarrow from the same venv.
    const pyarrow = /^pyarrow==([^\s#]+)/m.exec(readFileSync(REQUIREMENTS, 'utf8'))?.[1];
    const gotPyarrow = (
      await output(python, ['-c', 'import importlib.metadata as m; print(m.version("pyarrow"))'])
    ).trim();
    if (pyarrow !== undefined && gotPyarrow !== pyarrow)
      throw new Error(
        `pyarrow ${gotPyarrow} installed, but ${pyarrow} is pinned; see ${INSTALL_LOG}`,
      );
  },
};

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
  mkdirSync(TMP, { recursive: true });
  return { version, installed: await ensureVenv(MOTO_VENV) };
}

/**
 * Starts moto on a free loopback port and waits until it answers.
 * @param {{ port?: number, readyTimeoutMs?: number }} [options]
 * @returns {Promise<{ endpoint: string, port: number, stop: () => Promise<void> }>}
 */
export async function startMoto(options = {}) {
  if (!venvCurrent(MOTO_VENV))
    throw new Error('moto is not installed: run `node scripts/moto.mjs install`');
  mkdirSync(TMP, { recursive: true });
  let lastError;
  // A port found free can be taken before moto binds it; try a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const endpoint = `http://127.0.0.1:${port}`;
    const server = spawnServer(
      VENV_PYTHON,
      ['-c', parentWatchingLauncher('moto.server'), '-H', '127.0.0.1', '-p', String(port)],
      { cwd: ROOT, log: LOG, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    );
    const answers = async () => ((await httpGet(`${endpoint}/moto-api/`))?.status ?? 500) < 500;
    try {
      await waitReady('moto', answers, server.exited, options.readyTimeoutMs ?? 30_000);
      return { endpoint, port, stop: server.stop };
    } catch (err) {
      lastError = err;
      await server.stop();
      if (options.port !== undefined) break;
    }
  }
  throw new Error(`moto did not start (${String(lastError)}); see ${LOG}`);
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
