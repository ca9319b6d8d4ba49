/**
 * What `verify --bundle` checks of a bundle's event-id index files (docs/FORMAT.md §7.2): each
 * is well formed and names the hash of the segment of its number, and no index file is without
 * its segment. The tags are not recomputed (the files are a lookup aid, not evidence; `receipt`
 * recomputes the index of every segment it reads through one).
 */
import { toBase64 } from '../core/encoding.js';
import { AuditlockError, isLastingError } from '../core/errors.js';
import type { Finding } from '../core/findings.js';
import { bytesEqual } from '../core/hash.js';
import { MAX_ID_INDEX_BYTES, parseIdIndex } from '../core/id-index.js';
import type { ObjectStore } from '../core/ports.js';

export class BundleIndexCheck {
  /** Index files seen whose segment has not come yet: `<log> <seq>` → key and segment hash. */
  readonly #pending = new Map<
    string,
    { key: string; log: string; seq: number; segmentHash: Uint8Array }
  >();

  /**
   * Reads and parses one index file. Listing order puts `<log>/ids/` before `<log>/seg/`, so a
   * log's index files are seen before its segments.
   * @returns the finding when the file is unreadable or malformed
   */
  async see(store: ObjectStore, key: string, log: string, seq: number): Promise<Finding[]> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await store.get(key, { maxBytes: MAX_ID_INDEX_BYTES });
    } catch (err) {
      if (!isLastingError(err)) throw err;
      return [invalid(key, log, seq, `cannot be read (${err.code}: ${err.message})`)];
    }
    if (bytes === undefined) return [];
    try {
      const { segmentHash } = parseIdIndex(bytes);
      this.#pending.set(`${log} ${seq}`, { key, log, seq, segmentHash });
      return [];
    } catch (err) {
      if (!(err instanceof AuditlockError)) throw err;
      return [invalid(key, log, seq, err.message)];
    }
  }

  /** After segment `seq` of `log` was read and hashed (`hash` undefined when it could not be). */
  segment(log: string, seq: number, hash: Uint8Array | undefined): Finding[] {
    const id = `${log} ${seq}`;
    const index = this.#pending.get(id);
    if (!index) return [];
    this.#pending.delete(id);
    if (hash === undefined || bytesEqual(hash, index.segmentHash)) return [];
    return [
      invalid(
        index.key,
        log,
        seq,
        `names segment hash ${toBase64(index.segmentHash)}, segment ${seq} hashes to ${toBase64(hash)}`,
      ),
    ];
  }

  /** Index files whose segment never came (call once every log is done). */
  leftovers(): Finding[] {
    const out = [...this.#pending.values()].map(({ key, log, seq }) =>
      invalid(key, log, seq, `has no segment ${seq} beside it`),
    );
    this.#pending.clear();
    return out;
  }
}

function invalid(key: string, log: string, seq: number, why: string): Finding {
  return { code: 'BUNDLE_INDEX_INVALID', log, seq, key, detail: `event-id index ${key} ${why}` };
}
