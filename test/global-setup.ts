/**
 * Vitest global setup: chooses the AWS target of the integration tests once per run.
 * - `AUDITLOCK_TEST_TARGET=aws`: real AWS through the standard chain (region, credentials).
 * - `AUDITLOCK_TEST_TARGET=localstack`: LocalStack at `AWS_ENDPOINT_URL` when set (that is how
 *   `npm run test:localstack` runs the suite), else installed into `.venv-localstack/` if needed
 *   and started here, as moto is below.
 * - `AWS_ENDPOINT_URL` set otherwise: that endpoint, with the standard credential chain, taken to
 *   have moto's gaps (see `TargetCapabilities` in `test/helpers/aws.ts`).
 * - otherwise: install the pinned moto into `.venv/` if needed (about a minute the first time),
 *   start it on a free loopback port and point the SDK at it through the environment, which
 *   the test workers inherit (the SDK reads `AWS_ENDPOINT_URL` itself).
 * The choice is also provided as `awsTarget` (see `test/helpers/aws.ts`).
 */
import type { TestProject } from 'vitest/node';
import {
  ensureLocalStack,
  LOCALSTACK_CLIENT_ENV,
  startLocalStack,
} from '../scripts/localstack.mjs';
import { ensureMoto, HIDDEN_FROM_MOTO, MOTO_CLIENT_ENV, startMoto } from '../scripts/moto.mjs';
import type { AwsTestTarget } from './helpers/aws.js';

type Emulator = { readonly endpoint: string; readonly stop: () => Promise<void> };

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const given = process.env.AWS_ENDPOINT_URL;
  const wanted = process.env.AUDITLOCK_TEST_TARGET;
  if (wanted !== undefined && wanted !== 'aws' && wanted !== 'localstack')
    throw new Error(`AUDITLOCK_TEST_TARGET=${wanted}: expected aws or localstack`);
  if (wanted === 'aws') {
    project.provide('awsTarget', { kind: 'aws', endpoint: undefined, region });
    return undefined;
  }
  if (given) {
    project.provide('awsTarget', {
      kind: wanted === 'localstack' ? 'localstack' : 'endpoint',
      endpoint: given,
      region,
    } satisfies AwsTestTarget);
    return undefined;
  }

  let emulator: Emulator;
  let clientEnv: Readonly<Record<string, string>>;
  let kind: AwsTestTarget['kind'];
  if (wanted === 'localstack') {
    await ensureLocalStack();
    emulator = await startLocalStack();
    clientEnv = LOCALSTACK_CLIENT_ENV;
    kind = 'localstack';
  } else {
    await ensureMoto();
    emulator = await startMoto();
    clientEnv = MOTO_CLIENT_ENV;
    kind = 'moto';
  }
  const saved = new Map<string, string | undefined>();
  const set = (name: string, value: string | undefined) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  for (const name of HIDDEN_FROM_MOTO) set(name, undefined);
  for (const [name, value] of Object.entries(clientEnv)) set(name, value);
  set('AWS_ENDPOINT_URL', emulator.endpoint);
  project.provide('awsTarget', {
    kind,
    endpoint: emulator.endpoint,
    region: clientEnv.AWS_REGION ?? region,
  } satisfies AwsTestTarget);

  return async () => {
    await emulator.stop();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
