#!/usr/bin/env node
/**
 * Interoperability with the reference tlog-witness: transparency-dev's omniwitness
 * (github.com/transparency-dev/witness, no tags; the pseudo-version pinned below is the one in
 * ../shared/AWS-NOTES.md). Builds it once with `go install` into `.cache/go-bin/` (about 4 minutes
 * on 2 cores the first time), starts it on loopback with a logs.yaml naming one auditlock log, and
 * shows, through the built CLI (`npm run build` first):
 *
 *   1. `auditlock witness submit` gets a cosignature from it (first checkpoint, trusted on first use);
 *   2. after the log grows, it accepts our consistency proof and cosigns the new head;
 *   3. our checker accepts its cosignatures (src/core/witness-check.ts);
 *   4. it refuses a fork: a second log under the same origin and key (exit 1);
 *   5. it refuses a checkpoint of the origin signed by another key (it answers 500, not 403);
 *   6. a rolled-back copy of the log (newest segment deleted) is caught (exit 1, WITNESS_AHEAD).
 *
 * omniwitness answers 500 where the spec says 403/404; our client treats every non-200 (but a
 * usable 409) as a refusal. Exit status: 0 all shown, 1 a step failed, 2 setup problem (no Go,
 * build failed, no dist/).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODULE = 'github.com/transparency-dev/witness/cmd/omniwitness';
const VERSION = 'v0.0.0-20260720115447-2e1c6971d19e';
const BIN_DIR = join(ROOT, '.cache', 'go-bin');
const BIN = join(BIN_DIR, 'omniwitness');
const STAMP = join(BIN_DIR, 'omniwitness.version');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const ORIGIN = 'interop.auditlock.example/log';
const WITNESS_NAME = 'interop.auditlock.example/omniwitness';

function setupFailure(message) {
  console.error(`witness-interop: ${message}`);
  process.exit(2);
}

function ensureOmniwitness() {
  if (existsSync(BIN) && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === VERSION)
    return;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0)
    setupFailure(
      'Go is not installed (no `go` on PATH). This test builds the reference witness with\n' +
        `  go install ${MODULE}@${VERSION}\n` +
        'Install Go (https://go.dev/dl/) and run it again.',
    );
  console.log(
    `building omniwitness ${VERSION} with ${go.stdout.trim()} (about 4 minutes the first time)…`,
  );
  const built = spawnSync('go', ['install', `${MODULE}@${VERSION}`], {
    env: { ...process.env, GOBIN: BIN_DIR, GOFLAGS: '-mod=mod' },
    stdio: 'inherit',
  });
  if (built.status !== 0) setupFailure('go install of omniwitness failed (see above)');
  writeFileSync(STAMP, `${VERSION}\n`);
}

function run(args, input) {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, ms = 30_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** An Ed25519 witness key: omniwitness's note skey (type 0x01 seed) and our 0x04 vkey. */
async function witnessKey(dir) {
  const { formatCosignerVkey } = await import(join(ROOT, 'dist/core/cosignature.js'));
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ type: 'pkcs8', format: 'der' }).subarray(-32);
  const pub = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).subarray(12);
  const hash = createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${WITNESS_NAME}\n`), Buffer.from([1]), pub]))
    .digest()
    .subarray(0, 4)
    .toString('hex');
  const skey = `PRIVATE+KEY+${WITNESS_NAME}+${hash}+${Buffer.concat([Buffer.from([1]), seed]).toString('base64')}`;
  await writeFile(join(dir, 'omniwitness.key'), skey, { mode: 0o600 });
  const vkey = formatCosignerVkey(WITNESS_NAME, new Uint8Array(pub));
  await writeFile(join(dir, 'witness.vkey'), `${vkey}\n`);
  return join(dir, 'witness.vkey');
}

/**
 * Our verifier over the stored cosignatures: `auditlock verify --witness-key`, the command auditors
 * run. Returns its exit code, the number of witness objects it saw, the verified tree size and the
 * finding codes.
 */
function verifyWitnessed(store, pubkeyPath, vkeyPath) {
  const r = run(['verify', store, '--pubkey', pubkeyPath, '--witness-key', vkeyPath, '--json']);
  let out;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    return { code: r.code, objects: 0, size: undefined, codes: [`unparsable output: ${r.stderr}`] };
  }
  return {
    code: r.code,
    objects: out.witnessObjects,
    size: out.logs?.[0]?.treeSize,
    codes: [...new Set((out.findings ?? []).map((f) => f.code))].sort(),
  };
}

async function main() {
  if (!existsSync(CLI)) setupFailure(`${CLI} is missing: run \`npm run build\` first`);
  ensureOmniwitness();
  const dir = await mkdtemp(join(tmpdir(), 'auditlock-interop-'));
  const events = (await readFile(join(ROOT, 'examples', 'events.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean);
  const slice = (a, b) => `${events.slice(a, b).join('\n')}\n`;
  const results = [];
  const step = (name, ok, detail = '') => {
    results.push({ name, ok });
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `  (${detail})` : ''}`);
  };
  let child;
  try {
    const keys = join(dir, 'logkey');
    if (run(['keygen', '--out', keys, '--name', ORIGIN]).code !== 0) setupFailure('keygen failed');
    const pub = join(keys, 'signing-key.pub.pem');
    const priv = join(keys, 'signing-key.pem');
    const store = join(dir, 'store');
    const ingest = (s, a, b) =>
      run(['ingest', s, '-', '--key', priv, '--origin', ORIGIN, '--max-events', '50'], slice(a, b));
    if (ingest(store, 0, 200).code !== 0) setupFailure('ingest failed');
    const vkeyPath = await witnessKey(dir);
    const logVkey = readFileSync(join(keys, 'signing-key.vkey'), 'utf8').trim();
    await writeFile(
      join(dir, 'logs.yaml'),
      `Logs:\n  - Origin: ${ORIGIN}\n    PublicKey: ${logVkey}\n`,
    );
    const [port, metrics] = [await freePort(), await freePort()];
    child = spawn(
      BIN,
      [
        `--listen=127.0.0.1:${port}`,
        `--metrics_listen=127.0.0.1:${metrics}`,
        `--private_key_path=${join(dir, 'omniwitness.key')}`,
        `--db_file=${join(dir, 'witness.db')}`,
        `--additional_logs=${join(dir, 'logs.yaml')}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr.on('data', (b) => {
      log += b;
    });
    if (!(await waitForPort(port, child))) setupFailure(`omniwitness did not start:\n${log}`);
    const url = `http://127.0.0.1:${port}`;
    const submit = (s) =>
      run(['witness', 'submit', s, '--witness', url, '--witness-key', vkeyPath, '--pubkey', pub]);

    const first = submit(store);
    step(
      'submit: omniwitness cosigns the first checkpoint (TOFU)',
      first.code === 0,
      first.stderr.trim(),
    );
    if (ingest(store, 200, 330).code !== 0) setupFailure('second ingest failed');
    const second = submit(store);
    step(
      'submit: omniwitness accepts our consistency proof for the grown log',
      second.code === 0,
      second.stderr.trim(),
    );
    const checked = verifyWitnessed(store, pub, vkeyPath);
    step(
      'our verifier (verify --witness-key) accepts its cosignatures',
      checked.code === 0 && checked.size === 330 && checked.objects === 2,
      `exit ${checked.code}, ${checked.objects} stored, tree size ${checked.size}, findings ${JSON.stringify(checked.codes)}`,
    );
    const rolledBack = join(dir, 'rolled-back');
    await cp(store, rolledBack, { recursive: true });
    const segs = (await readdir(join(rolledBack, 'default', 'seg'))).sort();
    await unlink(join(rolledBack, 'default', 'seg', segs[segs.length - 1]));
    const truncated = verifyWitnessed(rolledBack, pub, vkeyPath);
    step(
      'our verifier catches the newest segment removed, from its cosignature',
      truncated.code === 1 && truncated.codes.includes('LOG_TRUNCATED'),
      `exit ${truncated.code}, findings ${JSON.stringify(truncated.codes)}`,
    );

    const forkStore = join(dir, 'fork');
    if (ingest(forkStore, 400, 740).code !== 0) setupFailure('fork ingest failed');
    const fork = submit(forkStore);
    step(
      'a fork (same origin and key, other entries) is refused, exit 1',
      fork.code === 1 && /WITNESS_(REFUSED|FORKED)/.test(fork.stderr),
      fork.stderr.trim(),
    );

    const otherKeys = join(dir, 'otherkey');
    if (run(['keygen', '--out', otherKeys, '--name', ORIGIN]).code !== 0)
      setupFailure('keygen failed');
    const impostor = join(dir, 'impostor');
    const signedByOther = run(
      [
        'ingest',
        impostor,
        '-',
        '--key',
        join(otherKeys, 'signing-key.pem'),
        '--origin',
        ORIGIN,
        '--max-events',
        '50',
      ],
      slice(0, 400),
    );
    if (signedByOther.code !== 0) setupFailure('impostor ingest failed');
    const wrongKey = run([
      'witness',
      'submit',
      impostor,
      '--witness',
      url,
      '--witness-key',
      vkeyPath,
      '--pubkey',
      join(otherKeys, 'signing-key.pub.pem'),
    ]);
    step(
      'a checkpoint of the origin signed by another key is refused (any non-200), exit 1',
      wrongKey.code === 1 && /WITNESS_REFUSED/.test(wrongKey.stderr),
      wrongKey.stderr.trim(),
    );

    const rolled = join(dir, 'rolled-back');
    await cp(store, rolled, { recursive: true });
    await rm(join(rolled, 'default', 'witness'), { recursive: true, force: true });
    const segDir = join(rolled, 'default', 'seg');
    const last = (await readdir(segDir)).sort().pop();
    await unlink(join(segDir, last));
    const back = submit(rolled);
    step(
      'a rolled-back log (newest segment deleted) is caught, exit 1',
      back.code === 1 && /WITNESS_AHEAD/.test(back.stderr),
      back.stderr.trim(),
    );
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await new Promise((r) => child.once('exit', r));
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(
    failed === 0
      ? `\nall ${results.length} interop checks passed`
      : `\n${failed} interop check(s) failed`,
  );
  process.exit(failed === 0 ? 0 : 1);
}

await mkdir(BIN_DIR, { recursive: true });
await main();
