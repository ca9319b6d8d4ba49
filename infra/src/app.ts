/**
 * Builds the whole deployment: the replica stack (deployed first) and the primary stack, each in
 * its configured account and Region (explicit env: no context lookups, synthesis is offline),
 * with cdk-nag's AwsSolutions and NIST 800-53 rev 5 packs run through CDK's Validations API.
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import type { DeploymentConfig } from './config.js';
import { DEFAULT_BUNDLE_DIR } from './ingest.js';
import { acknowledgeFindings } from './nag.js';
import { namesOf } from './names.js';
import { PrimaryStack } from './primary-stack.js';
import { ReplicaStack } from './replica-stack.js';

export type BuildOptions = {
  /** Folder holding `<source>/index.mjs` and `verify/index.mjs` (default: the repository's dist-lambda/). */
  readonly bundleDir?: string;
  /** Run the cdk-nag packs (default true); `app.synth()` then throws on unacknowledged findings. */
  readonly nag?: boolean;
  /** Register the acknowledgements of nag.ts (default true; false shows what they cover). */
  readonly acknowledge?: boolean;
  readonly appProps?: AppProps;
};

/**
 * CDK feature flags this app relies on, fixed here so tests, `cdk synth` and any embedding app
 * build the same templates. Server access logs are granted by a bucket policy on the log bucket,
 * not by the legacy LogDeliveryWrite ACL (which BUCKET_OWNER_ENFORCED forbids).
 */
export const FEATURE_FLAGS = { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true } as const;

export type Deployment = { app: App; primary: PrimaryStack; replica: ReplicaStack };

/** The CDK app of one deployment configuration. */
export function buildApp(config: DeploymentConfig, options: BuildOptions = {}): Deployment {
  const app = new App({
    ...options.appProps,
    postCliContext: { ...FEATURE_FLAGS, ...options.appProps?.postCliContext },
  });
  const names = namesOf(config);
  const bundleDir = options.bundleDir ?? DEFAULT_BUNDLE_DIR;
  const replica = new ReplicaStack(app, names.replicaStack, {
    config,
    names,
    bundleDir,
    env: { account: config.replica.account, region: config.replica.region },
    description: `auditlock ${config.name}: replica archive, scheduled verifier and witness (deploy first)`,
  });
  const primary = new PrimaryStack(app, names.primaryStack, {
    config,
    names,
    bundleDir,
    env: { account: config.primary.account, region: config.primary.region },
    description: `auditlock ${config.name}: archive, signing key, ingest, alarms`,
  });
  // Replication needs the replica bucket; keep `cdk deploy --all` in that order.
  primary.addStackDependency(replica, 'the replication rule names the replica bucket');
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    Validations.of(app).addPlugins(new NIST80053R5Checks(app));
    if (options.acknowledge ?? true) acknowledgeFindings({ config, names, primary, replica });
  }
  return { app, primary, replica };
}
