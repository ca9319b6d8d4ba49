/**
 * Incremental verification (issue 9 item 2): each log is verified from the position its newest
 * state record holds (docs/FORMAT.md §10), reading only the segments after it, and a new record
 * is saved at the last position this run reached while the log still had no finding. A log whose
 * state is missing, invalid or not applicable is verified from its first segment; `full` ignores
 * every state. The cost of a run is the new segments plus O(log n) probes per log.
 *
 * Replica comparison plugs in through `compare`: its `verify` replaces verifyStore (same options,
 * same result) and its `replica` is recorded in the state, so a state is used only by runs that
 * compare with the same replica, and a position is saved only while primary and replica agree
 * (a replica finding carries the log's name, which stops the log's state from advancing).
 */
import PQueue from 'p-queue';
import { ConfigurationError } from '../core/errors.js';
import type { Finding } from '../core/findings.js';
import { bytesEqual } from '../core/hash.js';
import type { LogPosition } from '../core/log-verifier.js';
import type { Clock, ObjectStore } from '../core/ports.js';
import type { TrustedCheckpoint } from '../core/signed-checkpoint.js';
import type { VerifyState } from '../core/verify-state.js';
import {
  logNamesOf,
  type VerifiedSegment,
  type VerifyStoreOptions,
  type VerifyStoreResult,
  verifyStore,
} from './verify.js';
import {
  findNewestVerifyState,
  type LoadedVerifyState,
  loadVerifyState,
  logsWithVerifyState,
  peekVerifyState,
  saveVerifyState,
} from './verify-state.js';

/** Verifying the primary together with a replica (src/app/replica.ts). */
export type ReplicaComparison = {
  /** The replica's location, recorded in the state as `replica`. */
  readonly replica: string;
  /**
   * Verifies `store` as verifyStore does and compares the replica. It MUST call `onSegment` for
   * every primary segment after that segment's replica findings (each with the log's name), so
   * that a position is saved only while the two agree.
   */
  readonly verify: (store: ObjectStore, opts: VerifyStoreOptions) => Promise<VerifyStoreResult>;
};

export type VerifyIncrementalOptions = Omit<VerifyStoreOptions, 'starts'> & {
  /** The archive. */
  readonly store: ObjectStore;
  /** Where the state records are (never the archive). */
  readonly stateStore: ObjectStore;
  /** Gives each record's `verifiedAt` (the run's start). */
  readonly clock: Clock;
  /** Ignore stored states: verify every log from its first segment (and still save). */
  readonly full?: boolean | undefined;
  readonly compare?: ReplicaComparison | undefined;
};

/** A place in a log: the last segment's sequence number and the tree size after it. */
export type LogMark = { readonly seq: number; readonly treeSize: number };

export type IncrementalLogResult = {
  readonly log: string;
  /** Where this run started (the state used); undefined: from the first segment. */
  readonly from: LogMark | undefined;
  /** The last segment this run listed, or `from` when there was none after it. */
  readonly to: LogMark | undefined;
  /** Segments listed (and read, unless unreadable) in this run. */
  readonly segmentsRead: number;
  /** Number of the state record this run wrote, if it wrote one. */
  readonly saved: number | undefined;
  /** Why a stored state was not used, when there was one. */
  readonly fullBecause?: string | undefined;
};

export type VerifyIncrementalResult = {
  readonly logs: IncrementalLogResult[];
  readonly verify: VerifyStoreResult;
  /** verify's findings plus the `VERIFY_STATE_INVALID` ones. */
  readonly findings: number;
  readonly ok: boolean;
};

/** What the run knows of one log's stored state before verifying. */
type Prior = {
  /** Newest record number (-1: none), what the next record is written after. */
  readonly newest: number;
  /** The valid state, whether or not it is used. */
  readonly state?: VerifyState | undefined;
  readonly used: boolean;
  readonly fullBecause?: string | undefined;
};

/**
 * Verifies the logs of `opts.store` incrementally and saves their new states.
 * @throws ConfigurationError `VERIFY_STATE_STORE_INVALID` if the state store is the archive;
 *   StorageError when a store cannot be listed or read (as verifyStore), or a record cannot be
 *   written for another reason than a race.
 */
export async function verifyIncremental(
  opts: VerifyIncrementalOptions,
): Promise<VerifyIncrementalResult> {
  const { store, stateStore, clock, full, compare, ...verifyOpts } = opts;
  if (stateStore === store)
    throw new ConfigurationError(
      'VERIFY_STATE_STORE_INVALID',
      `the verifier's state cannot be kept in the archive it verifies (${store.location})`,
    );
  const verifiedAt = clock.now();
  let stateFindings = 0;
  const names = full
    ? verifyOpts.logs
    : verifyOpts.logs
      ? [...new Set(verifyOpts.logs)].sort()
      : await logNamesOf(store, logsWithVerifyState(stateStore));
  const priors = new Map<string, Prior>();
  const starts = new Map<string, LogPosition>();
  const signedByStates: TrustedCheckpoint[] = [];
  if (!full)
    for (const [log, loaded] of await loadAll(opts, names ?? [])) {
      if (loaded.kind === 'invalid') {
        stateFindings++;
        opts.onFinding?.({
          code: 'VERIFY_STATE_INVALID',
          log,
          key: loaded.key,
          detail: loaded.detail,
        });
        if (loaded.checkpoint) signedByStates.push(loaded.checkpoint);
        priors.set(log, { newest: loaded.n, used: false });
      } else if (loaded.kind === 'valid') {
        const why = notApplicable(loaded.state, opts);
        if (why === undefined) starts.set(log, loaded.state.position);
        priors.set(log, {
          newest: loaded.state.n,
          state: loaded.state,
          used: why === undefined,
          fullBecause: why,
        });
      }
    }

  // The last position of each log reached before any finding about it in this run. A finding
  // about no segment (a truncation found at the end, a witness finding) keeps the state where it
  // was, so that it is found again: saving any position would hide what it was found against.
  const dirty = new Set<string>();
  const unplaced = new Set<string>();
  const clean = new Map<string, LogPosition>();
  const onFinding = (f: Finding): void => {
    if (f.log !== undefined) dirty.add(f.log);
    if (f.log !== undefined && f.seq === undefined) unplaced.add(f.log);
    opts.onFinding?.(f);
  };
  const onSegment = (s: VerifiedSegment): void => {
    if (s.position && s.logFindings === 0 && !dirty.has(s.log)) clean.set(s.log, s.position);
    opts.onSegment?.(s);
  };
  const verify = compare?.verify ?? verifyStore;
  const result = await verify(store, {
    ...verifyOpts,
    ...(full ? {} : { logs: names, starts }),
    trustedCheckpoints: [...(verifyOpts.trustedCheckpoints ?? []), ...signedByStates],
    onFinding,
    onSegment,
  });

  const logs: IncrementalLogResult[] = [];
  for (const summary of result.logs) {
    const log = summary.log;
    let prior = priors.get(log);
    const position = unplaced.has(log) ? undefined : clean.get(log);
    let saved: number | undefined;
    if (position) {
      if (full) {
        const newest = await findNewestVerifyState(stateStore, log);
        const state = await peekVerifyState(stateStore, log, newest, opts.trustedKeys);
        prior = { newest, state, used: false };
      }
      if (!samePosition(prior?.state?.position, position))
        ({ saved } = await saveVerifyState(
          stateStore,
          { log, position, verifiedAt, replica: compare?.replica },
          prior?.newest ?? -1,
          opts.trustedKeys,
        ));
    }
    const start = prior?.used ? prior.state?.position : undefined;
    const from = start && { seq: start.seq, treeSize: start.treeSize };
    logs.push({
      log,
      from,
      to:
        summary.lastSeq !== undefined ? { seq: summary.lastSeq, treeSize: summary.treeSize } : from,
      segmentsRead: summary.segments,
      saved,
      ...(prior?.fullBecause ? { fullBecause: prior.fullBecause } : {}),
    });
  }
  const findings = result.findings + stateFindings;
  return { logs, verify: result, findings, ok: findings === 0 };
}

/** Each log's state, loaded and confirmed, a few logs at a time. */
async function loadAll(
  opts: VerifyIncrementalOptions,
  names: readonly string[],
): Promise<Map<string, LoadedVerifyState>> {
  const queue = new PQueue({ concurrency: opts.concurrency ?? 8 });
  const loaded = await Promise.all(
    names.map((log) =>
      queue.add(() => loadVerifyState(opts.stateStore, opts.store, log, opts.trustedKeys)),
    ),
  );
  return new Map(names.map((log, i) => [log, loaded[i] as LoadedVerifyState]));
}

/**
 * Why a valid state cannot stand for this run's verification of its log (FORMAT.md §10), or
 * undefined when it can.
 */
function notApplicable(state: VerifyState, opts: VerifyIncrementalOptions): string | undefined {
  const p = state.position;
  if (opts.origin !== undefined && opts.origin !== p.origin)
    return `the state is of origin ${JSON.stringify(p.origin)}, the expected origin is ${JSON.stringify(opts.origin)}`;
  const below = (opts.trustedCheckpoints ?? []).find(
    (c) => c.origin === p.origin && c.treeSize < p.treeSize,
  );
  if (below)
    return `a trusted checkpoint at tree size ${below.treeSize} lies before the state (tree size ${p.treeSize})`;
  if (opts.compare && state.replica !== opts.compare.replica)
    return state.replica === undefined
      ? `the state was not compared with replica ${opts.compare.replica}`
      : `the state was compared with replica ${state.replica}, not ${opts.compare.replica}`;
  return undefined;
}

function samePosition(a: LogPosition | undefined, b: LogPosition): boolean {
  return a !== undefined && a.seq === b.seq && bytesEqual(a.segmentHash, b.segmentHash);
}
