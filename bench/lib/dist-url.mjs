/**
 * Where the build under test is: `dist/` of this checkout, or the folder `AUDITLOCK_BENCH_DIST`
 * names (a copy of `dist/` with a candidate change, to compare builds; lib/dist.mjs).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const DIST_URL = process.env.AUDITLOCK_BENCH_DIST
  ? pathToFileURL(`${resolve(process.env.AUDITLOCK_BENCH_DIST)}/`)
  : new URL('../../dist/', import.meta.url);

/** Imports a module of the build, by its path in it (e.g. `core/canonical-json.js`). */
export const loadDist = (path) => import(new URL(path, DIST_URL).href);
