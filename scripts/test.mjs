#!/usr/bin/env node
// The one test command (`npm test`), also run by CI: lint, type-check sources and tests, build
// (the CLI tests spawn the built CLI), then the whole Vitest suite. The suite's global setup
// installs and starts the S3/KMS emulator (moto) itself unless AWS_ENDPOINT_URL is set.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

const steps = [
  ['lint', 'npx', ['biome', 'check', '.']],
  ['typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['build', 'npx', ['tsc', '-p', 'tsconfig.build.json']],
];
for (const [name, cmd, args] of steps) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  console.log(`${name}: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
mkdirSync('.tmp', { recursive: true });
const report = '.tmp/vitest-report.json';
const r = spawnSync(
  'npx',
  [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
try {
  const j = JSON.parse(readFileSync(report, 'utf8'));
  // The plain closing line CI reads.
  console.log(
    `\n${j.numPassedTests} passed, ${j.numFailedTests} failed${j.numPendingTests ? `, ${j.numPendingTests} skipped` : ''}`,
  );
  if (j.numTotalTests === 0) process.exit(1);
} catch {
  console.error('no test report written');
  process.exit(r.status || 1);
}
process.exit(r.status ?? 1);
