/**
 * `cdk synth` entry point. The configuration is `config/example.json` (relative to infra/) unless
 * AUDITLOCK_INFRA_CONFIG names another file.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildApp } from '../src/app.js';
import { parseConfig } from '../src/config.js';

const path = resolve(process.env.AUDITLOCK_INFRA_CONFIG ?? 'config/example.json');
const { app } = buildApp(parseConfig(JSON.parse(readFileSync(path, 'utf8'))));
app.synth();
