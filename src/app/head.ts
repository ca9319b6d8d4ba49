/**
 * Finding and loading a log's head without any mutable pointer object: segments are numbered
 * contiguously from 0, so the head is found with O(log n) existence probes (exponential, then
 * binary search), and is then read and checked before anything is appended after it.
 */
import { CompactRange } from '../core/compact-range.js';
import { fromBase64 } from '../core/encoding.js';
import { parseTimestamp } from '../core/entry.js';
import { ConfigurationError, IntegrityError } from '../core/errors.js';
import { bytesEqual, sha256 } from '../core/hash.js';
import { segmentKey } from '../core/layout.js';
import { hashLeaf } from '../core/merkle.js';
import { isVersionedStore, type ObjectStore } from '../core/ports.js';
import { emptyHead, type LogHead } from '../core/seal.js';
import { parseSegment, segmentEntries } from '../core/segment.js';
import { oldestFirst } from './verify.js';

/**
 * Sequence number of the last segment of `log`, or -1 if it has none. Starts probing from
 * `knownSeq` (a segment known to exist), so rereading after a lost race is cheap.
 */
export async function findHeadSeq(store: ObjectStore, log: string, knownSeq = -1): Promise<number> {
  const exists = (seq: number) => store.exists(segmentKey(log, seq));
  let lo = knownSeq;
  if (lo < 0) {
    if (!(await exists(0))) return -1;
    lo = 0;
  }
  let step = 1;
  let hi = lo + step;
  while (await exists(hi)) {
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await exists(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Reads and checks segment `seq` and returns the head to continue from. The check is structural
 * (payload hash, recomputed root and frontier); signatures are the verifier's job.
 * @throws IntegrityError `HEAD_CORRUPT` if the head segment does not check out;
 *   ConfigurationError `ORIGIN_MISMATCH` if it belongs to another origin.
 */
export async function loadHead(
  store: ObjectStore,
  log: string,
  seq: number,
  origin: string | undefined,
): Promise<LogHead> {
  if (seq < 0) {
    if (origin === undefined)
      throw new ConfigurationError(
        'ORIGIN_REQUIRED',
        `log ${log} in ${store.location} is new: an origin is required`,
      );
    return emptyHead(origin);
  }
  const key = segmentKey(log, seq);
  const bytes = (await store.get(key)) ?? (await readHidden(store, key));
  const corrupt = (why: string, cause?: unknown): never => {
    throw new IntegrityError(
      'HEAD_CORRUPT',
      `head segment ${store.location}/${key} ${why}; refusing to append after it`,
      { cause },
    );
  };
  if (!bytes) return corrupt('vanished after it was listed');
  let seg: ReturnType<typeof parseSegment>;
  try {
    seg = parseSegment(bytes);
  } catch (cause) {
    return corrupt('is malformed', cause);
  }
  const { checkpoint: cp, header } = seg;
  if (origin !== undefined && cp.origin !== origin)
    throw new ConfigurationError(
      'ORIGIN_MISMATCH',
      `log ${log} in ${store.location} has origin ${JSON.stringify(cp.origin)}, configured origin is ${JSON.stringify(origin)}`,
    );
  if (cp.seq !== seq) corrupt(`says it is segment ${cp.seq}`);
  if (!bytesEqual(sha256(seg.payload), cp.payloadHash)) corrupt('does not match its payload hash');
  let range: CompactRange;
  try {
    range = new CompactRange(header.firstIndex, header.frontierBefore.map(fromBase64));
    for (const e of segmentEntries(seg)) range.append(hashLeaf(e));
  } catch (cause) {
    return corrupt('has an undecodable body or frontier', cause);
  }
  if (range.size !== cp.treeSize || !bytesEqual(range.root(), cp.root))
    corrupt('does not hash to its signed root');
  return {
    origin: cp.origin,
    nextSeq: seq + 1,
    prevHash: seg.hash,
    frontier: range,
    lastReceivedAt: parseTimestamp(header.lastReceivedAt),
    lastSealedAt: parseTimestamp(cp.sealedAt),
  };
}

/**
 * The original version of a key whose current version is a delete marker (versioned stores), so
 * a writer can continue after a hidden head instead of stalling; the verifier reports the marker.
 */
async function readHidden(store: ObjectStore, key: string): Promise<Uint8Array | undefined> {
  if (!isVersionedStore(store)) return undefined;
  const versions = [];
  for await (const v of store.listVersions(key))
    if (v.key === key && !v.isDeleteMarker) versions.push(v);
  const oldest = oldestFirst(versions)[0];
  return oldest ? store.getVersion(key, oldest.versionId) : undefined;
}
