/**
 * One run of the scheduled verifier (the `verify` Lambda, issue 9 item 5), as a use case with its
 * ports injected so that it runs the same against S3 and KMS, the emulator, or folders:
 *
 * 1. verify every log of the primary incrementally from the verifier's own state, comparing it
 *    with the replica when there is one, and checking it against the checkpoints this verifier's
 *    witness cosigned before (a log rolled back or forked behind its back is LOG_TRUNCATED or
 *    CHECKPOINT_MISMATCH);
 * 2. stop starting segments when the time budget runs low; what was verified is saved, the next
 *    run goes on from there;
 * 3. cosign, as a witness (C2SP tlog-witness semantics, state write-once in the state store), the
 *    newest position of each log verified without any finding, and store the cosigned checkpoint
 *    write-once in the state store;
 * 4. publish every finding, and every witness refusal, to the notifier.
 *
 * It never writes to the primary or the replica.
 */
import type { CosignerKey } from '../core/cosignature.js';
import { readCosignature, verifyCosignature } from '../core/cosignature.js';
import { fromUtf8 } from '../core/encoding.js';
import { AuditlockError } from '../core/errors.js';
import { FINDING_CODES, type Finding, type FindingCode } from '../core/findings.js';
import { parseNote, type TrustedKey } from '../core/note.js';
import type { Clock, Notifier, ObjectStore } from '../core/ports.js';
import type { Ed25519Signer } from '../core/witness-signer.js';
import { replicaComparison } from './replica.js';
import { type VerifyIncrementalResult, verifyIncremental } from './verify-incremental.js';
import { Witness } from './witness.js';
import { newestCosignedKey, type SubmitResult, submitToWitness } from './witness-submit.js';

export type ScheduledVerifyDeps = {
  readonly primary: ObjectStore;
  readonly replica?: ObjectStore | undefined;
  /** The verifier's own store: verify state, witness state, cosigned checkpoints. */
  readonly state: ObjectStore;
  readonly trustedKeys: readonly TrustedKey[];
  readonly witness: { readonly signer: Ed25519Signer; readonly key: CosignerKey };
  readonly notifier?: Notifier | undefined;
  readonly clock: Clock;
  /** Milliseconds left in this run (Lambda's getRemainingTimeInMillis). */
  readonly timeLeftMs: () => number;
  /** No segment is started with less than this much time left. */
  readonly reserveMs: number;
  readonly logs?: readonly string[] | undefined;
  readonly minRetentionDays?: number | undefined;
  readonly rtcWindowMs?: number | undefined;
  readonly concurrency?: number | undefined;
  /** Where the findings also go as they are found (the Lambda's structured log). */
  readonly onFinding?: ((f: Finding) => void) | undefined;
};

export type ScheduledLogReport = {
  readonly log: string;
  readonly origin: string | undefined;
  readonly segmentsRead: number;
  readonly bytes: number;
  readonly findings: number;
  /** Tree sizes this run covered. */
  readonly from: number | undefined;
  readonly to: number | undefined;
  /** False when the run stopped in this log for lack of time. */
  readonly complete: boolean;
  /** The witness's answer for this log's verified head; undefined when not submitted. */
  readonly witness?:
    | { readonly ok: true; readonly treeSize: number; readonly stored: string }
    | { readonly ok: false; readonly code: string; readonly detail: string }
    | undefined;
  /** Seconds since the newest cosignature of this log by this verifier's witness. */
  readonly secondsSinceCosigned: number | undefined;
  /** Age (ms) of the oldest replica still pending; 0 when none or without a replica. */
  readonly replicationLagMs: number;
};

export type ScheduledVerifyReport = {
  readonly ok: boolean;
  /** False when the time budget ended the run before every log was verified to its end. */
  readonly complete: boolean;
  readonly logs: ScheduledLogReport[];
  readonly findingsByCode: Partial<Record<FindingCode, number>>;
  readonly findings: number;
  readonly segmentsRead: number;
  readonly bytesRead: number;
  /** Whether a notification was published (there was something to say). */
  readonly notified: boolean;
};

/** A cosignature takes a few requests: none is started with less time left than this. */
const MIN_COSIGN_TIME_MS = 5_000;
/** Findings listed in one notification; the rest are counted. */
const MAX_NOTIFIED_FINDINGS = 200;

/**
 * Runs the scheduled verification once.
 * @throws StorageError / ConfigurationError when a store cannot be listed or the state or the
 *   witness cannot be written (the next run retries; nothing is lost, nothing half-saved counts);
 *   the notifier's error when the findings cannot be published (the run fails loudly, so Lambda's
 *   error alarm fires even when publishing does not work).
 */
export async function runScheduledVerification(
  deps: ScheduledVerifyDeps,
): Promise<ScheduledVerifyReport> {
  const findings: Finding[] = [];
  const byCode: Partial<Record<FindingCode, number>> = {};
  const bytesByLog = new Map<string, number>();
  const startedAt = deps.clock.now();
  const compare = deps.replica
    ? replicaComparison(deps.replica, {
        now: () => deps.clock.now(),
        rtcWindowMs: deps.rtcWindowMs,
      })
    : undefined;
  const result: VerifyIncrementalResult = await verifyIncremental({
    store: deps.primary,
    stateStore: deps.state,
    clock: deps.clock,
    trustedKeys: deps.trustedKeys,
    ...(deps.logs?.length ? { logs: deps.logs } : {}),
    minRetentionDays: deps.minRetentionDays,
    concurrency: deps.concurrency,
    witness: { keys: [deps.witness.key], stores: [deps.state], requireQuorum: false },
    // With a replica, half of what is left goes to verifying the same range of it.
    shouldStop: () => {
      const left = deps.timeLeftMs() - deps.reserveMs;
      return left < 0 || (deps.replica !== undefined && left < deps.clock.now() - startedAt);
    },
    ...(compare ? { compare: compare.comparison } : {}),
    onFinding: (f) => {
      findings.push(f);
      byCode[f.code] = (byCode[f.code] ?? 0) + 1;
      deps.onFinding?.(f);
    },
    onSegment: (s) => {
      if (s.hash !== undefined) bytesByLog.set(s.log, (bytesByLog.get(s.log) ?? 0) + s.size);
    },
  });
  const summaries = new Map(result.verify.logs.map((l) => [l.log, l]));
  const lag = compare?.last()?.logs ?? [];
  const clean = result.verify.logs.filter(
    (l) => l.findings === 0 && l.end !== undefined && !findings.some((f) => f.log === l.log),
  );
  const witness = await Witness.open({
    store: deps.state,
    signer: deps.witness.signer,
    key: deps.witness.key,
    logs: [...new Set(clean.map((l) => l.origin as string))].map((origin) => ({
      origin,
      keys: deps.trustedKeys,
    })),
    clock: deps.clock,
  });
  const submitted = new Map<string, SubmitResult>();
  for (const l of clean) {
    if (deps.timeLeftMs() < MIN_COSIGN_TIME_MS) break;
    submitted.set(
      l.log,
      await submitToWitness({
        store: deps.primary,
        log: l.log,
        trustedKeys: deps.trustedKeys,
        client: witness,
        witnessKey: deps.witness.key,
        headSeq: l.end?.seq,
        cosignatures: deps.state,
      }),
    );
  }
  const now = deps.clock.now();
  const logs: ScheduledLogReport[] = [];
  for (const r of result.logs) {
    const summary = summaries.get(r.log);
    const sub = submitted.get(r.log);
    const cosignedAt =
      sub?.ok === true
        ? sub.timestamp
        : await newestCosignatureTime(deps.state, r.log, deps.witness.key);
    logs.push({
      log: r.log,
      origin: summary?.origin,
      segmentsRead: r.segmentsRead,
      bytes: bytesByLog.get(r.log) ?? 0,
      findings: findings.filter((f) => f.log === r.log).length,
      from: r.from?.treeSize,
      to: r.to?.treeSize,
      complete: summary?.complete ?? false,
      witness:
        sub === undefined
          ? undefined
          : sub.ok
            ? { ok: true, treeSize: sub.treeSize, stored: sub.stored }
            : { ok: false, code: sub.code, detail: sub.detail },
      secondsSinceCosigned:
        cosignedAt === undefined ? undefined : Math.max(0, Math.floor(now / 1000) - cosignedAt),
      replicationLagMs: lag.find((x) => x.log === r.log)?.maxLagMs ?? 0,
    });
  }
  const refusals = logs.filter((l) => l.witness?.ok === false);
  let notified = false;
  if ((findings.length > 0 || refusals.length > 0) && deps.notifier) {
    await deps.notifier.publish(notification(deps, findings, refusals));
    notified = true;
  }
  return {
    ok: findings.length === 0 && refusals.length === 0,
    complete: result.verify.complete,
    logs,
    findingsByCode: byCode,
    findings: findings.length,
    segmentsRead: logs.reduce((n, l) => n + l.segmentsRead, 0),
    bytesRead: logs.reduce((n, l) => n + l.bytes, 0),
    notified,
  };
}

function notification(
  deps: ScheduledVerifyDeps,
  findings: readonly Finding[],
  refusals: readonly ScheduledLogReport[],
): { subject: string; body: string } {
  const lines = [
    `auditlock scheduled verification of ${deps.primary.location}${deps.replica ? ` and its replica ${deps.replica.location}` : ''}:`,
    `${findings.length} finding(s), ${refusals.length} witness refusal(s).`,
    '',
  ];
  for (const f of findings.slice(0, MAX_NOTIFIED_FINDINGS))
    lines.push(
      `${f.code} [${[f.log && `log ${f.log}`, f.seq !== undefined && `segment ${f.seq}`, f.key]
        .filter(Boolean)
        .join(', ')}]: ${f.detail} (${FINDING_CODES[f.code]})`,
    );
  if (findings.length > MAX_NOTIFIED_FINDINGS)
    lines.push(`… and ${findings.length - MAX_NOTIFIED_FINDINGS} more finding(s)`);
  for (const r of refusals)
    if (r.witness?.ok === false)
      lines.push(`witness refused log ${r.log}: ${r.witness.code}: ${r.witness.detail}`);
  return {
    subject: `auditlock: ${findings.length} finding(s) in ${deps.primary.location}`,
    body: `${lines.join('\n')}\n`,
  };
}

/**
 * POSIX seconds of the newest valid cosignature by `key` stored for `log` in `state`, or
 * undefined. The stored object is checked like any other (it is read from a store): only a
 * verifying line by `key` counts.
 */
async function newestCosignatureTime(
  state: ObjectStore,
  log: string,
  key: CosignerKey,
): Promise<number | undefined> {
  const newest = await newestCosignedKey(state, log, key);
  if (!newest) return undefined;
  try {
    const bytes = await state.get(newest.key, { maxBytes: 64 * 1024 });
    if (!bytes) return undefined;
    const { text, signatures } = parseNote(fromUtf8(bytes));
    const line = signatures.find((s) => verifyCosignature(text, s, key));
    return line ? readCosignature(line).timestamp : undefined;
  } catch (err) {
    if (err instanceof AuditlockError) return undefined;
    throw err;
  }
}
