#!/usr/bin/env node
// Checks infra/ offline, from the repository root: installs infra's packages when needed, bundles
// the Lambda handlers (the assets the stacks deploy), runs infra's Vitest suite, synthesizes both
// stacks with the pinned CDK CLI (telemetry and notices off, no context lookups) into
// infra/cdk.out, then runs cfn-lint and checkov (--framework cloudformation) on the templates.
// Each scanner comes from PyPI, pinned (scripts/requirements-*.txt), in its own project-local
// virtualenv (.venv-cfn-lint/, .venv-checkov/): checkov pins an old boto3, so it is kept apart
// from the emulator's .venv/. Skipped scanner checks and their reasons: infra/scan-skips.json.
// Runs with CI=true and no stdin; exits non-zero on the first failing step.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INFRA = join(ROOT, 'infra');
const OUT = join(INFRA, 'cdk.out');
const SKIPS = JSON.parse(readFileSync(join(INFRA, 'scan-skips.json'), 'utf8'));
const ENV = {
  ...process.env,
  CI: process.env.CI ?? 'true',
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  // checkov: no Bridgecrew/Prisma mapping download, no version check.
  BC_SKIP_MAPPING: 'TRUE',
  CHECKOV_SKIP_VERSION_CHECK: 'true',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
};
const timings = {};

function fail(message) {
  console.error(`\ninfra-check: ${message}`);
  process.exit(1);
}

/** Runs a step with inherited output and no stdin; fails loudly on a non-zero exit. */
function step(name, cmd, args, options = {}) {
  const started = Date.now();
  console.log(`\n== ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: ENV, ...options });
  if (r.error) fail(`${name}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${name} failed (exit ${r.status ?? r.signal})`);
  timings[name] = (Date.now() - started) / 1000;
  console.log(`${name}: ok (${timings[name].toFixed(1)} s)`);
}

/** A Python >= 3.9 and < 3.13 (checkov 3.3 does not support newer), or a clear failure. */
function findPython() {
  const candidates = [
    process.env.PYTHON,
    'python3.12',
    'python3.11',
    'python3.10',
    'python3',
  ].filter(Boolean);
  const pyenv = spawnSync('pyenv', ['root'], { encoding: 'utf8' });
  if (pyenv.status === 0)
    for (const v of ['3.12.1', '3.11.7'])
      candidates.push(join(pyenv.stdout.trim(), 'versions', v, 'bin', 'python3'));
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
      encoding: 'utf8',
    });
    if (r.status !== 0) continue;
    const [major, minor] = r.stdout.trim().split('.').map(Number);
    if (major === 3 && minor >= 9 && minor <= 12) return c;
  }
  fail(
    'no Python 3.9-3.12 found (tried $PYTHON, python3.12, python3.11, python3.10, python3, pyenv): install one to run cfn-lint and checkov',
  );
}

/** A virtualenv with exactly the pinned requirements, rebuilt when the requirements change. */
function ensureVenv(python, dir, requirements) {
  const want = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const stamp = join(dir, '.requirements-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  rmSync(dir, { recursive: true, force: true });
  step(`venv ${dir}`, python, ['-m', 'venv', dir], { cwd: ROOT });
  step(
    `pip ${dir}`,
    join(dir, 'bin', 'python'),
    ['-m', 'pip', 'install', '--quiet', '--no-input', '-r', requirements],
    { cwd: ROOT },
  );
  // As Python >= 3.13's venv does: keeps git (and Biome, which reads .gitignore) out of it.
  writeFileSync(join(dir, '.gitignore'), '*\n');
  writeFileSync(stamp, want);
}

// 1. infra's own packages (aws-cdk-lib is large: only when missing or out of date).
const lock = JSON.parse(readFileSync(join(INFRA, 'package-lock.json'), 'utf8'));
const installed = join(INFRA, 'node_modules', '.package-lock.json');
const wanted = lock.packages['node_modules/aws-cdk-lib']?.version;
const have = existsSync(installed)
  ? JSON.parse(readFileSync(installed, 'utf8')).packages['node_modules/aws-cdk-lib']?.version
  : undefined;
if (have !== wanted || !existsSync(join(INFRA, 'node_modules', '.bin', 'cdk')))
  step('npm ci (infra)', 'npm', ['ci', '--no-audit', '--no-fund'], { cwd: INFRA });

// 2. The handler bundles the stacks deploy, from the main package's own script.
if (!existsSync(join(ROOT, 'node_modules', 'esbuild')))
  fail('run `npm ci` in the repository root first (esbuild bundles the handlers)');
step('bundle', process.execPath, [join(ROOT, 'scripts', 'bundle.mjs')], { cwd: ROOT });

// 3. Typecheck and the template tests.
step('typecheck (infra)', join(INFRA, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
  cwd: INFRA,
});
step('vitest (infra)', join(INFRA, 'node_modules', '.bin', 'vitest'), ['run'], { cwd: INFRA });

// 4. Synthesis, offline: explicit account and Region in every stack, no lookups.
rmSync(OUT, { recursive: true, force: true });
step(
  'cdk synth',
  join(INFRA, 'node_modules', '.bin', 'cdk'),
  ['synth', '--no-notices', '--no-lookups', '--quiet', '--output', OUT],
  { cwd: INFRA },
);
const templates = readdirSync(OUT)
  .filter((f) => f.endsWith('.template.json'))
  .map((f) => join(OUT, f));
if (templates.length !== 2) fail(`expected 2 templates in ${OUT}, found ${templates.length}`);

// 5. The scanners, each in its own virtualenv.
const python = findPython();
ensureVenv(
  python,
  join(ROOT, '.venv-cfn-lint'),
  join(ROOT, 'scripts', 'requirements-cfn-lint.txt'),
);
ensureVenv(python, join(ROOT, '.venv-checkov'), join(ROOT, 'scripts', 'requirements-checkov.txt'));
const ids = (tool) => SKIPS[tool].map((s) => s.id);
step('cfn-lint', join(ROOT, '.venv-cfn-lint', 'bin', 'cfn-lint'), [
  ...(ids('cfn-lint').length ? ['--ignore-checks', ...ids('cfn-lint')] : []),
  '--',
  ...templates,
]);
step('checkov', join(ROOT, '.venv-checkov', 'bin', 'checkov'), [
  '--framework',
  'cloudformation',
  '--quiet',
  '--compact',
  '--skip-download',
  ...(ids('checkov').length ? ['--skip-check', ids('checkov').join(',')] : []),
  ...templates.flatMap((t) => ['--file', t]),
]);

console.log(`\ninfra-check: all passed. Timings (s): ${JSON.stringify(timings)}`);
