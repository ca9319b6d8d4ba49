/**
 * Worker threads from TypeScript sources: the pool's default worker module is verify-worker.ts
 * beside verify-workers.ts, and a thread loads `.ts` only through the repo's test hooks
 * (test/fixtures/ts-hooks.mjs), which Vitest does not give the threads of its test processes.
 */
import { fileURLToPath } from 'node:url';
import type { WorkerEntry } from '../../src/app/verify-workers.js';

const REGISTER_TS = fileURLToPath(new URL('../fixtures/register-ts.mjs', import.meta.url));

/** Node options that let a worker thread run this repo's TypeScript sources. */
export const TS_EXEC_ARGV: readonly string[] = ['--import', REGISTER_TS];

/** The default worker module, started so that it runs from sources. */
export const TS_WORKERS: WorkerEntry = { execArgv: TS_EXEC_ARGV };

/** A worker module under test/fixtures/, started so that it runs from sources. */
export function fixtureWorker(name: string): WorkerEntry {
  return { url: new URL(`../fixtures/${name}`, import.meta.url), execArgv: TS_EXEC_ARGV };
}
