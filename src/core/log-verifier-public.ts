/**
 * The LogVerifier that `auditlock/core` exports: as core/log-verifier.ts's, except that
 * `strictEntries` may also be `true`, meaning the full entry schema (entry.ts's `decodeEntry`),
 * as it always could. The verifier inside the package takes the check itself, so that a plain
 * verification loads no zod (issue 14); this module loads it, for callers of the public API.
 */
import { decodeEntry } from './entry.js';
import type { StrictEntryCheck } from './entry-check.js';
import type { FindingSink } from './findings.js';
import {
  type LogVerifyOptions as CheckTakingOptions,
  LogVerifier as CheckTakingVerifier,
} from './log-verifier.js';

export type { LogSummary } from './log-verifier.js';

export type LogVerifyOptions = Omit<CheckTakingOptions, 'strictEntries'> & {
  /**
   * Validate each entry against the full schema (slower) instead of the structural check: `true`
   * for the entry schema of docs/FORMAT.md, or a check of the caller's own.
   */
  readonly strictEntries?: boolean | StrictEntryCheck | undefined;
};

export class LogVerifier extends CheckTakingVerifier {
  constructor(log: string, opts: LogVerifyOptions, sink: FindingSink) {
    const { strictEntries } = opts;
    super(
      log,
      { ...opts, strictEntries: strictEntries === true ? decodeEntry : strictEntries || undefined },
      sink,
    );
  }
}
