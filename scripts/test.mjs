#!/usr/bin/env node
// The one test command (`npm test`), also run by CI: lint, type-check sources and tests, build
// (the CLI and package tests use the built tree), then the whole Vitest suite with coverage, so
// the floors in vitest.config.ts fail the run when missed. The suite's global setup installs and
// starts the S3/KMS emulator (moto) itself unless AWS_ENDPOINT_URL is set; the second emulator
// has its own command (`npm run test:localstack`), which CI runs after this one.
//
// `npm test -- <vitest args>` (e.g. a file filter) runs that subset without coverage: the floors
// are about the whole suite, and a subset would miss them for no reason.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const started = Date.now();
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const steps = [
  ['lint', 'npx', ['biome', 'check', '.']],
  ['typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['build', 'npx', ['tsc', '-p', 'tsconfig.build.json']],
];
for (const [name, cmd, args] of steps) {
  const stepStarted = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  console.log(`${name}: ok (${seconds(stepStarted)})`);
}

const subset = process.argv.slice(2);
// Per run, so two runs on one machine never share (and clean away) each other's files.
const runDir = join('.tmp', `test-run-${process.pid}`);
mkdirSync(runDir, { recursive: true });
const report = join(runDir, 'vitest-report.json');
const coverage =
  subset.length === 0
    ? ['--coverage', `--coverage.reportsDirectory=${join(runDir, 'coverage')}`]
    : [];
if (subset.length > 0) console.log('a subset of the suite: coverage floors not checked');
const testsStarted = Date.now();
const r = spawnSync(
  'npx',
  [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...coverage,
    ...subset,
  ],
  { stdio: 'inherit' },
);
let summary;
try {
  summary = JSON.parse(readFileSync(report, 'utf8'));
} catch {
  console.error('no test report written');
}
rmSync(runDir, { recursive: true, force: true });
if (summary === undefined) process.exit(r.status || 1);
// The plain closing lines CI reads. A run whose tests all pass but misses a coverage floor
// exits non-zero too (Vitest prints which floor above).
const { numPassedTests, numFailedTests, numPendingTests, numTotalTests } = summary;
// A file whose set-up threw (a missing browser, a failed import) fails without failing a test.
const brokenFiles = (summary.testResults ?? [])
  .filter((f) => f.status === 'failed' && !f.assertionResults?.some((a) => a.status === 'failed'))
  .map((f) => f.name);
console.log(
  `\n${numPassedTests} passed, ${numFailedTests} failed${numPendingTests ? `, ${numPendingTests} skipped` : ''} (tests ${seconds(testsStarted)}, whole command ${seconds(started)})`,
);
if (numTotalTests === 0) process.exit(1);
if (r.status !== 0 && brokenFiles.length > 0)
  console.error(`failed outside their tests (see FAIL above): ${brokenFiles.join(', ')}`);
else if (r.status !== 0 && numFailedTests === 0 && coverage.length > 0)
  console.error('the tests passed, but coverage is below a floor in vitest.config.ts');
process.exit(r.status ?? 1);
