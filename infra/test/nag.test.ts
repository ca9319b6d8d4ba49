/**
 * cdk-nag 3 (AwsSolutions + NIST 800-53 rev 5) through CDK's Validations API: synthesis of the
 * whole app passes only because every finding is acknowledged with a reason in src/nag.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeploymentConfig } from '../src/config.js';
import { acknowledgementsOf } from '../src/nag.js';
import { namesOf } from '../src/names.js';
import { build, config } from './helpers.js';

const outdir = () => mkdtempSync(join(tmpdir(), 'auditlock-nag-'));

/** Both stacks of `c`, synthesized (which must not throw: no unacknowledged finding), and the acknowledgements. */
function synthesized(c: DeploymentConfig) {
  const d = build(c, { appProps: { outdir: outdir() } });
  expect(() => d.app.synth()).not.toThrow();
  const acks = acknowledgementsOf({
    config: c,
    names: namesOf(c),
    primary: d.primary,
    replica: d.replica,
  });
  return { d, acks };
}

describe('cdk-nag', () => {
  it('synthesizes with zero unacknowledged findings, each acknowledgement with a reason', () => {
    const { acks } = synthesized(
      config({ legalHoldRoleArn: 'arn:aws:iam::111111111111:role/legal' }),
    );
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id).toMatch(/^(AwsSolutions|NIST\.800\.53\.R5)::/);
      expect(a.reason.length).toBeGreaterThan(40);
    }
  });

  it('fails synthesis without the acknowledgements (the packs do run)', () => {
    const d = build(config(), { acknowledge: false, appProps: { outdir: outdir() } });
    expect(() => d.app.synth()).toThrow();
  });

  it.each([
    ['our export bucket', { readerRoleArns: ['arn:aws:iam::111111111111:role/athena'] }],
    [
      'an existing export bucket',
      {
        bucketName: 'acme-lake',
        bucketKeyArn:
          'arn:aws:kms:eu-central-1:111111111111:key/0123abcd-0123-4567-89ab-0123456789ab',
      },
    ],
  ])('synthesizes with the OCSF export into %s and zero unacknowledged findings', (_, e) => {
    const { d, acks } = synthesized(config({ export: e }));
    const exportFn = d.primary.ocsfExport?.fn;
    expect(
      acks
        .filter((a) => a.scope === exportFn)
        .map((a) => a.id)
        .sort(),
    ).toEqual(['AwsSolutions::AwsSolutions-L1', 'NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC']);
  });
});
