/** The deployment configuration rejects bad input and names every bad field (no snapshots). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InfraConfigError, parseConfig } from '../src/config.js';
import { isValidOrigin } from '../src/origin.js';
import { rawConfig } from './helpers.js';

const INFRA = join(import.meta.dirname, '..');

function fieldsOf(input: unknown): readonly string[] {
  try {
    parseConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InfraConfigError);
    expect((err as InfraConfigError).code).toBe('INFRA_CONFIG_INVALID');
    return (err as InfraConfigError).fields;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('parseConfig', () => {
  it('accepts the example and fills the defaults', () => {
    const c = parseConfig(rawConfig());
    expect(c.storePrefix).toBe('audit');
    expect(c.signingKey).toEqual({ generation: 1, retiredGenerations: [] });
    expect(c.ingest[0]).toMatchObject({ type: 'sqs', fifo: false, maxConcurrency: 2 });
    expect(c.witnesses).toEqual([]);
  });

  it('names every bad field at once', () => {
    const fields = fieldsOf(
      rawConfig({
        name: 'Bad Name',
        primary: { account: '1234', region: 'eu-central-1' },
        replica: { account: '111111111111', region: 'Mars' },
        retentionDays: 0,
        originPrefix: 'has space',
        alarmEmail: 'not-an-email',
        ingest: [
          { type: 'sqs', log: 'UPPER' },
          { type: 'ftp', log: 'x' },
          { type: 'cloudwatch-logs', log: 'cwl', logGroupNames: [] },
        ],
        legalHoldRoleArn: 'arn:aws:iam::1:user/x',
        witnesses: [{ name: 'w', url: 'http://insecure.example', vkey: 'nope' }],
      }),
    );
    expect([...fields].sort()).toEqual(
      [
        'name',
        'primary.account',
        'replica.region',
        'retentionDays',
        'originPrefix',
        'alarmEmail',
        'ingest.0.log',
        'ingest.1.type',
        'ingest.2.logGroupNames',
        'legalHoldRoleArn',
        'witnesses.0.url',
        'witnesses.0.vkey',
      ].sort(),
    );
  });

  it('rejects unknown fields (a typo must not silently fall back to a default)', () => {
    expect(fieldsOf(rawConfig({ retentionDay: 10 }))).toEqual(['(root)']);
  });

  it('checks relations: distinct Regions, distinct log names, full origin length, key generations', () => {
    const fields = fieldsOf(
      rawConfig({
        replica: { account: '111111111111', region: 'eu-central-1' },
        originPrefix: 'o'.repeat(251), // + '/same' = 256 bytes
        ingest: [
          { type: 'sqs', log: 'same' },
          { type: 'kinesis', log: 'same' },
        ],
        signingKey: { generation: 2, retiredGenerations: [2] },
      }),
    );
    expect([...fields].sort()).toEqual(
      [
        'ingest.0.log',
        'ingest.1.log',
        // the default witness name <originPrefix>/witness/verifier is too long as well
        'originPrefix',
        'replica.region',
        'signingKey.retiredGenerations.0',
      ].sort(),
    );
  });

  it('validates the verifier: schedule within the alarm window, witness name, key ARNs, limits', () => {
    const c = parseConfig(rawConfig());
    expect(c.verifier).toEqual({
      memoryMb: 1024,
      timeoutSeconds: 600,
      staleHeadPeriods: 3,
      retiredSigningKeyArns: [],
    });
    const fields = fieldsOf(
      rawConfig({
        schedule: { rateMinutes: 721 },
        verifier: {
          timeoutSeconds: 901,
          witnessName: 'audit.acme.example/prod/app',
          staleHeadPeriods: 1,
          retiredSigningKeyArns: ['arn:aws:kms:eu-central-1:111111111111:alias/x'],
        },
      }),
    );
    expect([...fields].sort()).toEqual(
      [
        'schedule.rateMinutes',
        'verifier.timeoutSeconds',
        'verifier.staleHeadPeriods',
        'verifier.retiredSigningKeyArns.0',
        // equal to the origin of log "app"
        'verifier.witnessName',
      ].sort(),
    );
    expect(fieldsOf(rawConfig({ verifier: { witnessName: 'has space' } }))).toEqual([
      'verifier.witnessName',
    ]);
  });

  it('fails synthesis (the cdk app) with the field names, before anything is built', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditlock-infra-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(rawConfig({ retentionDays: -1, alarmEmail: 'x' })));
    const r = spawnSync(
      process.execPath,
      [join(INFRA, 'node_modules/tsx/dist/cli.mjs'), join(INFRA, 'bin/app.ts')],
      {
        cwd: INFRA,
        env: { ...process.env, AUDITLOCK_INFRA_CONFIG: file, CDK_OUTDIR: join(dir, 'out') },
        encoding: 'utf8',
      },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('INFRA_CONFIG_INVALID');
    expect(r.stderr).toContain('retentionDays');
    expect(r.stderr).toContain('alarmEmail');
  });
});

describe('origin rule', () => {
  const samples = [
    'audit.example.com/prod',
    'a',
    'has space',
    'tab\there',
    'plus+sign',
    'nbsp\u00a0x',
    'ideographic\u3000space',
    'c1\u0085control',
    'del\u007f',
    'lone\ud800surrogate',
    'emoji😀ok',
    'x'.repeat(255),
    'x'.repeat(256),
    'é'.repeat(128),
    '',
  ];

  it('accepts and rejects the documented cases', () => {
    expect(isValidOrigin('audit.example.com/prod')).toBe(true);
    for (const bad of [
      '',
      'has space',
      'plus+sign',
      'c1\u0085control',
      'lone\ud800surrogate',
      'x'.repeat(256),
    ])
      expect(isValidOrigin(bad), JSON.stringify(bad)).toBe(false);
  });

  it('agrees with the main package (src/core/checkpoint.ts isValidOrigin) on every sample', async () => {
    // Test-only parity check: infra's code imports nothing from src/, this test reads the rule.
    const main = (await import(
      pathToFileURL(join(INFRA, '..', 'src/core/checkpoint.ts')).href
    )) as {
      isValidOrigin: (o: string) => boolean;
    };
    for (const o of samples)
      expect(isValidOrigin(o), JSON.stringify(o)).toBe(main.isValidOrigin(o));
  });
});
