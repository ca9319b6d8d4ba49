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
