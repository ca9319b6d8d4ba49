/**
 * Vitest global setup: chooses the AWS target of the integration tests once per run.
 * - `AWS_ENDPOINT_URL` set (e.g. LocalStack): use it with the standard credential chain.
 * - `AUDITLOCK_TEST_TARGET=aws`: real AWS through the standard chain (region, credentials).
 * - otherwise: install the pinned moto into `.venv/` if needed (about a minute the first time),
 *   start it on a free loopback port and point the SDK at it through the environment, which
 *   the test workers inherit (the SDK reads `AWS_ENDPOINT_URL` itself).
 * The choice is also provided as `awsTarget` (see `test/helpers/aws.ts`).
 */
import type { TestProject } from 'vitest/node';
import { ensureMoto, HIDDEN_FROM_MOTO, MOTO_CLIENT_ENV, startMoto } from '../scripts/moto.mjs';
import type { AwsTestTarget } from './helpers/aws.js';

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const given = process.env.AWS_ENDPOINT_URL;
  if (given) {
    project.provide('awsTarget', {
      kind: 'endpoint',
      endpoint: given,
      region,
    } satisfies AwsTestTarget);
    return undefined;
  }
  if (process.env.AUDITLOCK_TEST_TARGET === 'aws') {
    project.provide('awsTarget', {
      kind: 'aws',
      endpoint: undefined,
      region,
    } satisfies AwsTestTarget);
    return undefined;
  }

  await ensureMoto();
  const moto = await startMoto();
  const saved = new Map<string, string | undefined>();
  const set = (name: string, value: string | undefined) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  for (const name of HIDDEN_FROM_MOTO) set(name, undefined);
  for (const [name, value] of Object.entries(MOTO_CLIENT_ENV)) set(name, value);
  set('AWS_ENDPOINT_URL', moto.endpoint);
  project.provide('awsTarget', {
    kind: 'moto',
    endpoint: moto.endpoint,
    region: MOTO_CLIENT_ENV.AWS_REGION,
  } satisfies AwsTestTarget);

  return async () => {
    await moto.stop();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
