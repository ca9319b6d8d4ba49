/** Types for `scripts/localstack.mjs` (plain ESM so it runs without a build step). */

/** The exact localstack-core version pinned in `scripts/requirements-localstack.txt`. */
export function pinnedLocalStackVersion(): string;

/** A Python >= 3.12 with `venv`; throws saying what to install when there is none. */
export function findPython(): Promise<{ python: string; version: string }>;

/** Creates `.venv-localstack/` and installs the pinned LocalStack when missing or outdated. */
export function ensureLocalStack(): Promise<{
  version: string;
  python: string;
  installed: boolean;
}>;

/** A running LocalStack on loopback. */
export type LocalStackServer = { endpoint: string; port: number; stop: () => Promise<void> };

/** Starts LocalStack on a free loopback port (or `port`) and waits until S3 and KMS are up. */
export function startLocalStack(options?: {
  port?: number;
  readyTimeoutMs?: number;
}): Promise<LocalStackServer>;

/** What the AWS SDK needs to talk to LocalStack: dummy credentials and a region. */
export const LOCALSTACK_CLIENT_ENV: Readonly<{
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
}>;

/** Points `env` (changed in place, and returned) at the LocalStack server at `endpoint`. */
export function applyLocalStackEnv<E extends Record<string, string | undefined>>(
  env: E,
  endpoint: string,
): E;
