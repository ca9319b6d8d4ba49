/**
 * Loading and saving the incremental verifier's state (docs/FORMAT.md §10) on an ObjectStore of
 * its own. The newest of a log's write-once records is its state, found with O(log n) existence
 * probes as the witness finds its head; a loaded record is checked (src/core/verify-state.ts) and
 * then confirmed against the archive's segment `seq`, read as a trusted segment. Saving creates
 * the next record with put-if-absent; a run that loses the race to another keeps whichever
 * position is further ahead, and never fails because of the race.
 */
import { toBase64 } from '../core/encoding.js';
import { hasCode, IntegrityError, StorageError } from '../core/errors.js';
import { bytesEqual } from '../core/hash.js';
import type { LogPosition } from '../core/log-verifier.js';
import { formatNote, type TrustedKey } from '../core/note.js';
import type { ObjectStore, ReadOptions } from '../core/ports.js';
import type { TrustedCheckpoint } from '../core/signed-checkpoint.js';
import { parseTimestamp } from '../core/timestamp.js';
import {
  afterVerifyStateLog,
  decodeVerifyState,
  encodeVerifyState,
  MAX_VERIFY_STATE_BYTES,
  parseVerifyStateKey,
  VERIFY_STATE_PREFIX,
  type VerifyState,
  verifyStateKey,
} from '../core/verify-state.js';
import { readTrustedSegment, type TrustedSegment } from './trusted-segment.js';

/** What a log's newest record turned out to be. */
export type LoadedVerifyState =
  | { readonly kind: 'none' }
  | { readonly kind: 'valid'; readonly state: VerifyState }
  | {
      readonly kind: 'invalid';
      /** Number and key of the newest record (the next one is written after it). */
      readonly n: number;
      readonly key: string;
      /** Which check failed, for the `VERIFY_STATE_INVALID` finding. */
      readonly detail: string;
      /**
       * The record's checkpoint when only the archive did not confirm it (FORMAT.md §10 checks
       * 1–3 passed): it carries the log's signature, so the full run checks the log against it.
       */
      readonly checkpoint?: TrustedCheckpoint | undefined;
    };

/** What saving did: the record written, or the newer one another run had written first. */
export type SavedVerifyState = {
  /** Number of the record this call wrote; undefined when a record further ahead exists. */
  readonly saved: number | undefined;
  /** The newest record number after the call. */
  readonly newest: number;
};

const READ: ReadOptions = { maxBytes: MAX_VERIFY_STATE_BYTES };
/** Lost races in a row before a save gives up (each one means another run advanced). */
const MAX_CONFLICTS = 16;

/**
 * Number of the newest record of `log`, or -1 if it has none, by exponential then binary probing
 * from `known` (a record known to exist): about 2 log₂ n `exists` requests.
 * @throws StorageError from the store
 */
export async function findNewestVerifyState(
  stateStore: ObjectStore,
  log: string,
  known = -1,
): Promise<number> {
  const exists = (n: number) => stateStore.exists(verifyStateKey(log, n));
  let lo = known;
  if (lo < 0) {
    if (!(await exists(0))) return -1;
    lo = 0;
  }
  let step = 1;
  while (await exists(lo + step)) {
    lo += step;
    step *= 2;
  }
  let hi = lo + step;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await exists(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The state of `log`: its newest record, checked (FORMAT.md §10 checks 1–3) and confirmed
 * against segment `seq` of `archive` (check 4). Hostile records are never thrown: they come back
 * as `invalid`.
 * @throws StorageError from either store for anything but an oversized or unreadable object
 */
export async function loadVerifyState(
  stateStore: ObjectStore,
  archive: ObjectStore,
  log: string,
  trustedKeys: readonly TrustedKey[],
): Promise<LoadedVerifyState> {
  const n = await findNewestVerifyState(stateStore, log);
  if (n < 0) return { kind: 'none' };
  const key = verifyStateKey(log, n);
  const invalid = (detail: string, checkpoint?: TrustedCheckpoint): LoadedVerifyState => ({
    kind: 'invalid',
    n,
    key,
    detail: `${stateStore.location}/${key}: ${detail}`,
    ...(checkpoint ? { checkpoint } : {}),
  });
  let state: VerifyState;
  try {
    const bytes = await stateStore.get(key, READ);
    if (bytes === undefined) return invalid('the record exists but cannot be read');
    state = decodeVerifyState(bytes, log, n, trustedKeys);
  } catch (err) {
    if (unreadable(err) || hasCode(err, 'VERIFY_STATE_INVALID'))
      return invalid((err as Error).message);
    throw err;
  }
  const p = state.position;
  const signed: TrustedCheckpoint = {
    origin: p.origin,
    treeSize: p.treeSize,
    root: p.root,
    by: `the checkpoint of verify state record ${n}`,
  };
  let seg: TrustedSegment;
  try {
    seg = await readTrustedSegment(archive, log, p.seq, trustedKeys);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    return invalid(
      `the archive does not confirm segment ${p.seq} (${err.code}: ${err.message})`,
      signed,
    );
  }
  const problem = disagreement(seg, p);
  return problem === undefined
    ? { kind: 'valid', state }
    : invalid(`segment ${p.seq} in the archive ${problem}`, signed);
}

/** How the archive's segment differs from the recorded position, or undefined if it does not. */
function disagreement(seg: TrustedSegment, p: LogPosition): string | undefined {
  if (!bytesEqual(seg.hash, p.segmentHash))
    return `hashes to ${toBase64(seg.hash)}, the record says ${toBase64(p.segmentHash)}`;
  if (formatNote(seg.seg.noteText, seg.seg.signatures) !== p.checkpoint)
    return 'has another signed checkpoint than the record';
  const frontier = seg.frontier.hashes();
  if (
    frontier.length !== p.frontier.length ||
    frontier.some((h, i) => !bytesEqual(h, p.frontier[i] as Uint8Array))
  )
    return 'gives another frontier than the record';
  if (parseTimestamp(seg.seg.header.lastReceivedAt) !== p.lastReceivedAt)
    return `has lastReceivedAt ${seg.seg.header.lastReceivedAt}, the record says ${new Date(p.lastReceivedAt).toISOString()}`;
  return undefined;
}

/**
 * Writes `state` as the record after `newest` (-1: the log has none yet). If that number is
 * taken, another run advanced meanwhile: the newest record is read again, and `state` is written
 * after it only if it is further ahead (a larger `seq`; an unreadable or invalid newer record
 * counts as behind). Never fails because of a race; gives up quietly after 16 lost ones.
 * @throws StorageError from the store (other than `OBJECT_EXISTS`)
 */
export async function saveVerifyState(
  stateStore: ObjectStore,
  state: Omit<VerifyState, 'n'>,
  newest: number,
  trustedKeys: readonly TrustedKey[],
): Promise<SavedVerifyState> {
  let n = newest + 1;
  for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
    try {
      await stateStore.putIfAbsent(
        verifyStateKey(state.log, n),
        encodeVerifyState({ ...state, n }),
      );
      return { saved: n, newest: n };
    } catch (err) {
      if (!hasCode(err, 'OBJECT_EXISTS')) throw err;
    }
    const top = await findNewestVerifyState(stateStore, state.log, n);
    const other = (await peekVerifyState(stateStore, state.log, top, trustedKeys))?.position;
    if (other !== undefined && other.seq >= state.position.seq)
      return { saved: undefined, newest: top };
    n = top + 1;
  }
  return { saved: undefined, newest: n - 1 };
}

/**
 * Record `n` of `log` if it decodes as a valid record (checks 1–3, no archive read), else
 * undefined: enough to compare positions, never to continue from.
 * @throws StorageError from the store
 */
export async function peekVerifyState(
  stateStore: ObjectStore,
  log: string,
  n: number,
  trustedKeys: readonly TrustedKey[],
): Promise<VerifyState | undefined> {
  if (n < 0) return undefined;
  try {
    const bytes = await stateStore.get(verifyStateKey(log, n), READ);
    return bytes === undefined ? undefined : decodeVerifyState(bytes, log, n, trustedKeys);
  } catch (err) {
    if (unreadable(err) || hasCode(err, 'VERIFY_STATE_INVALID')) return undefined;
    throw err;
  }
}

/**
 * The logs that have at least one record, ascending, each once: one listing request per log
 * (each listing starts after the previous log's records), not one per record.
 * @throws StorageError from the store
 */
export async function* logsWithVerifyState(stateStore: ObjectStore): AsyncGenerator<string> {
  let after: string | undefined;
  for (;;) {
    let found: string | undefined;
    for await (const o of stateStore.list(
      VERIFY_STATE_PREFIX,
      after ? { startAfter: after } : {},
    )) {
      found = parseVerifyStateKey(o.key)?.log;
      // Keys not of the record form are skipped; the next record's log ends the listing.
      if (found !== undefined) break;
    }
    if (found === undefined) return;
    yield found;
    after = afterVerifyStateLog(found);
  }
}

/** What someone put at a record's key rather than a failure of the store: never retried. */
function unreadable(err: unknown): boolean {
  return (
    err instanceof StorageError &&
    (err.code === 'OBJECT_TOO_LARGE' || err.code === 'OBJECT_UNREADABLE')
  );
}
