/**
 * `cdk synth` entry point. The configuration is `config/example.json` (relative to infra/) unless
 * AUDITLOCK_INFRA_CONFIG names another file; the handler bundles are the repository's
 * dist-lambda/ (`npm run bundle`) unless AUDITLOCK_BUNDLE_DIR names another folder. A string
 * `sealing.config` is the path of the sealing configuration's JSON file, relative to the config.
 */
import { resolve } from 'node:path';
import { buildApp } from '../src/app.js';
import { readConfigFile } from '../src/config.js';

const path = resolve(process.env.AUDITLOCK_INFRA_CONFIG ?? 'config/example.json');
const bundleDir = process.env.AUDITLOCK_BUNDLE_DIR;
const { app } = buildApp(readConfigFile(path), {
  ...(bundleDir === undefined ? {} : { bundleDir: resolve(bundleDir) }),
});
app.synth();
