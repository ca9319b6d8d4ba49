/**
 * The in-process witness run (`auditlock witness cosign`, and the scheduled verifier): verify the
 * store, then submit each clean log's head to the witness in this process, then store the
 * cosigned checkpoint under `<log>/witness/`. A log with findings is never cosigned: the witness
 * vouches only for heads it has verified end to end (and, through its state, consistent with
 * every head it cosigned before).
 */
import type { TrustedKey } from '../core/note.js';
import type { ObjectStore } from '../core/ports.js';
import { verifyStore } from './verify.js';
import type { Witness, WitnessLogConfig } from './witness.js';
import { type SubmitResult, submitToWitness } from './witness-submit.js';

export type CosignStoreOptions = {
  readonly store: ObjectStore;
  /** Keys trusted for the logs' own signatures. */
  readonly trustedKeys: readonly TrustedKey[];
  /**
   * Opens the witness for the logs found (origin and keys of each verified log); a witness
   * accepts only the logs it is configured with.
   */
  readonly openWitness: (logs: readonly WitnessLogConfig[]) => Promise<Witness>;
  /** Only these logs; default every log in the store. */
  readonly logs?: readonly string[] | undefined;
};

export type CosignResult =
  | SubmitResult
  | {
      readonly ok: false;
      readonly log: string;
      readonly code: 'LOG_UNVERIFIED';
      readonly detail: string;
      readonly findings: number;
    };

/**
 * Verifies and cosigns every log (or the ones asked for).
 * @throws StorageError / ConfigurationError when the store cannot be read; IntegrityError from
 *   the witness's state store.
 */
export async function cosignStore(opts: CosignStoreOptions): Promise<CosignResult[]> {
  const verified = await verifyStore(opts.store, {
    trustedKeys: opts.trustedKeys,
    ...(opts.logs ? { logs: opts.logs } : {}),
  });
  const results: CosignResult[] = [];
  const clean = verified.logs.filter((s) => s.findings === 0 && s.origin !== undefined);
  const origins = [...new Set(clean.map((s) => s.origin as string))];
  const witness = await opts.openWitness(
    origins.map((origin) => ({ origin, keys: opts.trustedKeys })),
  );
  for (const summary of verified.logs) {
    if (summary.findings > 0 || summary.segments === 0) {
      results.push({
        ok: false,
        log: summary.log,
        code: 'LOG_UNVERIFIED',
        detail: `log ${summary.log} has ${summary.findings} finding(s) and ${summary.segments} segment(s): not cosigned (run verify)`,
        findings: summary.findings,
      });
      continue;
    }
    results.push(
      await submitToWitness({
        store: opts.store,
        log: summary.log,
        trustedKeys: opts.trustedKeys,
        client: witness,
        witnessKey: witness.key,
      }),
    );
  }
  return results;
}
