/**
 * The Lambda bundles as shipped (`node scripts/bundle.mjs`): one minified ESM file per handler,
 * under 1 MiB, importing nothing but Node built-ins, free of what once made them 1.2 MB (every zod
 * locale, CommonJS copies of the SDK), and working in plain Node from a folder outside the
 * repository, where there is no node_modules to resolve anything from.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { verifyStore } from '../../src/app/verify.js';
import type { SourceKind } from '../../src/sources/types.js';
import {
  BUNDLE_DIR,
  bundlePath,
  cloudWatchLogsEvent,
  ensureBundles,
  eventBridgeEvent,
  eventJson,
  HANDLERS,
  kinesisEvent,
  kinesisSequenceNumber,
  sqsEvent,
} from '../helpers/lambda.js';
import { makeKey, sampleEvent } from '../helpers/log-fixture.js';

const MAX_BYTES = 1024 * 1024;

type Metafile = {
  outputs: Record<
    string,
    { inputs: Record<string, unknown>; imports: { path: string; external?: boolean }[] }
  >;
};

function metafile(name: SourceKind): Metafile['outputs'][string] {
  const meta = JSON.parse(readFileSync(join(BUNDLE_DIR, name, 'meta.json'), 'utf8')) as Metafile;
  const outputs = Object.values(meta.outputs);
  expect(outputs).toHaveLength(1);
  return outputs[0] as Metafile['outputs'][string];
}

/** A small event per handler, one invalid item in each, and the exact response it must give. */
const cases: Record<SourceKind, { event: unknown; response: unknown; entries: number }> = {
  sqs: {
    event: sqsEvent([
      { messageId: 'b-0', body: eventJson(1) },
      { messageId: 'b-1', body: '{"not":"an event"}' },
    ]),
    response: { batchItemFailures: [] },
    entries: 2,
  },
  kinesis: {
    event: kinesisEvent([
      { sequenceNumber: kinesisSequenceNumber(0), data: eventJson(2) },
      { sequenceNumber: kinesisSequenceNumber(1), data: 'not json' },
    ]),
    response: { batchItemFailures: [] },
    entries: 2,
  },
  eventbridge: {
    event: eventBridgeEvent('0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d', sampleEvent(3)),
    response: { archived: 1, quarantined: 0, skippedRedeliveries: 0 },
    entries: 1,
  },
  'cloudwatch-logs': {
    event: cloudWatchLogsEvent([
      { id: '36622316099697884706540976068822859012661220141643890001', message: eventJson(4) },
      { id: '36622316099697884706540976068822859012661220141643890002', message: '{' },
    ]),
    response: { archived: 1, quarantined: 1, skippedRedeliveries: 0 },
    entries: 2,
  },
  direct: {
    event: { events: [sampleEvent(5), sampleEvent(6), { action: 42 }] },
    response: { archived: 2, quarantined: 1, skippedRedeliveries: 0 },
    entries: 3,
  },
};

/**
 * Imports `./index.mjs` in plain Node, invokes it once with `./event.json`, prints what it exported
 * and answered, or the error's name and code (not the stack: the bundle is one long line).
 */
const RUNNER = `
import { readFileSync } from 'node:fs';
const context = {
  functionName: 'auditlock-bundle-test', functionVersion: '$LATEST', memoryLimitInMB: '512',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:auditlock-bundle-test',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678', logGroupName: '/aws/lambda/x',
  logStreamName: 'x', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 60000,
};
let out;
try {
  const mod = await import('./index.mjs');
  const event = JSON.parse(readFileSync('./event.json', 'utf8'));
  const response = await mod.handler(event, context);
  out = { exports: Object.keys(mod), type: typeof mod.handler, response };
} catch (e) {
  out = { error: { name: e?.name, code: e?.code, message: String(e?.message).slice(0, 300) } };
}
process.stdout.write(JSON.stringify(out));
`;

/** Copies the bundle of `name` alone into a temp folder outside the repository, with `event`. */
function isolate(name: SourceKind, event: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), `auditlock-bundle-${name}-`));
  temps.push(dir);
  copyFileSync(bundlePath(name), join(dir, 'index.mjs'));
  writeFileSync(join(dir, 'event.json'), JSON.stringify(event));
  return dir;
}

/** Runs {@link RUNNER} in `dir` with only `env` (and PATH) in the environment. */
async function runIsolated(dir: string, env: Record<string, string>): Promise<unknown> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', RUNNER],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      },
    },
  );
  return JSON.parse(stdout);
}

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

beforeAll(ensureBundles, 120_000);

describe.each(HANDLERS)('dist-lambda/%s/index.mjs', (name) => {
  it('is one minified ESM file under 1 MiB', () => {
    const text = readFileSync(bundlePath(name), 'utf8');
    expect(statSync(bundlePath(name)).size).toBeLessThan(MAX_BYTES);
    expect(text.startsWith('import{')).toBe(true);
    // Minified: a few lines (template literals keep theirs), thousands of characters each.
    expect(text.split('\n').length).toBeLessThan(500);
  });

  it('imports nothing but Node built-ins (the SDK clients are inside)', () => {
    const out = metafile(name);
    const external = out.imports.filter((i) => !i.path.startsWith('node:'));
    expect(external).toEqual([]);
    const inputs = Object.keys(out.inputs);
    expect(inputs.some((f) => f.includes('node_modules/@aws-sdk/client-s3/'))).toBe(true);
    expect(inputs.some((f) => f.includes('node_modules/@aws-sdk/client-kms/'))).toBe(true);
  });

  it('leaves out zod locales other than English, CommonJS SDK builds, test code and nested packages', () => {
    const inputs = Object.keys(metafile(name).inputs);
    expect(inputs.filter((f) => /zod\/v4\/locales\/(?!en\.js$)/.test(f))).toEqual([]);
    expect(inputs.filter((f) => /node_modules\/@(aws-sdk|smithy)\/.*\/dist-cjs\//.test(f))).toEqual(
      [],
    );
    expect(inputs.filter((f) => /fast-check|vitest|^test\//.test(f))).toEqual([]);
    // One copy of each package: none resolved from a nested node_modules.
    expect(inputs.filter((f) => f.split('node_modules/').length > 2)).toEqual([]);
  });

  it('works in plain Node from a folder outside the repository: exports handler, archives, answers exactly', async () => {
    // Prepare: the bundle alone in a temp folder, a local key and a folder store (no AWS).
    const dir = isolate(name, cases[name].event);
    const key = makeKey();
    // Act
    const out = await runIsolated(dir, {
      AUDITLOCK_STORE: join(dir, 'store'),
      AUDITLOCK_PRIVATE_KEY_PEM: key.privateKeyPem,
      AUDITLOCK_ORIGIN_PREFIX: 'bundle-test.auditlock.local',
    });
    // Assess
    expect(out).toStrictEqual({
      exports: ['handler'],
      type: 'function',
      response: cases[name].response,
    });
    const findings: unknown[] = [];
    const result = await verifyStore(new FolderStore(join(dir, 'store')), {
      trustedKeys: [key.trusted],
      onFinding: (f) => findings.push(f),
    });
    expect(findings).toEqual([]);
    expect(result.logs.reduce((n, l) => n + l.entries, 0)).toBe(cases[name].entries);
  });
});

it('keeps class names, so errors say what they are (ConfigurationError, not a minified name)', async () => {
  const dir = isolate('sqs', sqsEvent([{ messageId: 'n-0', body: eventJson(7) }]));
  // No AUDITLOCK_ORIGIN_PREFIX and no key: the runtime cannot be built.
  const out = await runIsolated(dir, { AUDITLOCK_STORE: join(dir, 'store') });
  expect(out).toMatchObject({
    error: { name: 'ConfigurationError', code: 'LAMBDA_CONFIG_INVALID' },
  });
});
