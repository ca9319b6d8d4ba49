/**
 * The stacks package the main package's bundled handlers (dist-lambda/<source>/index.mjs). Bundle
 * them once, with the main package's own script, when they are missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_BUNDLE_DIR } from '../src/ingest.js';

export default function setup(): void {
  const sources = ['sqs', 'kinesis', 'eventbridge', 'cloudwatch-logs'];
  if (sources.every((s) => existsSync(join(DEFAULT_BUNDLE_DIR, s, 'index.mjs')))) return;
  execFileSync(process.execPath, [join(DEFAULT_BUNDLE_DIR, '..', 'scripts', 'bundle.mjs')], {
    stdio: 'inherit',
  });
}
