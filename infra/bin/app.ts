/**
 * `cdk synth` entry point. The configuration is `config/example.json` (relative to infra/) unless
 * AUDITLOCK_INFRA_CONFIG names another file; the handler bundles are the repository's
 * dist-lambda/ (`npm run bundle`) unless AUDITLOCK_BUNDLE_DIR names another folder. A string
 * `sealing.config` is the path of the sealing configuration's JSON file, relative to the config.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { buildApp } from '../src/app.js';
import { parseConfig } from '../src/config.js';

const path = resolve(process.env.AUDITLOCK_INFRA_CONFIG ?? 'config/example.json');
const bundleDir = process.env.AUDITLOCK_BUNDLE_DIR;
const raw = JSON.parse(readFileSync(path, 'utf8'));
// `sealing.config` may name the sealing configuration's JSON file, relative to this file.
if (typeof raw?.sealing?.config === 'string')
  raw.sealing.config = JSON.parse(readFileSync(resolve(dirname(path), raw.sealing.config), 'utf8'));
const { app } = buildApp(parseConfig(raw), {
  ...(bundleDir === undefined ? {} : { bundleDir: resolve(bundleDir) }),
});
app.synth();
