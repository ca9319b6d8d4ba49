/** Types for `scripts/moto.mjs` (plain ESM so it runs without a build step). */

/** The exact moto version pinned in `scripts/requirements-moto.txt`. */
export function pinnedMotoVersion(): string;

/** Creates `.venv/` and installs the pinned moto when missing or outdated. */
export function ensureMoto(): Promise<{ version: string; installed: boolean }>;

/** A running moto server on loopback. */
export type MotoServer = { endpoint: string; port: number; stop: () => Promise<void> };

/** Starts moto on a free loopback port (or `port`) and waits until it answers. */
export function startMoto(options?: {
  port?: number;
  readyTimeoutMs?: number;
}): Promise<MotoServer>;

/** What the AWS SDK needs to talk to moto: dummy credentials and a region. */
export const MOTO_CLIENT_ENV: Readonly<{
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
}>;

/** Variables that would make the SDK send real credentials, read a profile or use other endpoints. */
export const HIDDEN_FROM_MOTO: readonly string[];

/** Points `env` (changed in place, and returned) at the moto server at `endpoint`. */
export function applyMotoEnv<E extends Record<string, string | undefined>>(
  env: E,
  endpoint: string,
): E;
