/**
 * What the report needs to know of each segment beyond what the verifier hands back (seal time,
 * entries per receive day, who signed it), taken from the bytes the verifier downloads anyway:
 * the store is wrapped, and each segment read through it is parsed once more as it arrives. No
 * object is read twice. Nothing here decides whether a segment is valid: that is the verifier's
 * job, and a segment that does not parse simply has no facts (its findings say why).
 *
 * Entries per day (UTC): a segment whose first and last receive times fall on the same day
 * counts all its entries there, from its header; only a segment that spans midnight has its body
 * decoded again to count each entry on its own day (a few segments a day at most).
 */
import { decodeBody, entryViews } from '../core/body-codec.js';
import { checkEntryBytes } from '../core/entry-check.js';
import { AuditlockError } from '../core/errors.js';
import { ecdsaKeyId } from '../core/key-id.js';
import { classifyKey } from '../core/layout.js';
import { checkSignature, type TrustedKey } from '../core/note.js';
import { isVersionedStore, type ObjectStore, type VersionedObjectStore } from '../core/ports.js';
import { type ParsedSegment, parseSegment } from '../core/segment.js';
import { keyValidAt } from '../core/signature-policy.js';
import { parseTimestamp } from '../core/timestamp.js';

/** How one signature line of a segment stands against the trusted keys. */
export type SignatureFact =
  | { readonly status: 'valid' | 'outside-window' | 'invalid'; readonly key: number }
  | { readonly status: 'unknown'; readonly keyName: string; readonly keyId: string };

export type SegmentFacts = {
  /** `auditlock.sealed` (ms). */
  readonly sealedAt: number;
  /** Entries by UTC day of their receive time (`YYYY-MM-DD`). */
  readonly entriesByDay: ReadonlyMap<string, number>;
  /** One per signature line; `key` is an index into the trusted keys. */
  readonly signatures: readonly SignatureFact[];
};

/** `YYYY-MM-DD` (UTC) of `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * `store` as it is, except that every segment read through it leaves its facts behind, to be
 * taken (once) by key after the verifier is done with it.
 */
export function tapSegments(
  store: ObjectStore,
  trustedKeys: readonly TrustedKey[],
): { store: ObjectStore; take(key: string): SegmentFacts | undefined } {
  const facts = new Map<string, SegmentFacts>();
  const note = (key: string, bytes: Uint8Array | undefined): Uint8Array | undefined => {
    if (bytes !== undefined && classifyKey(key).kind === 'segment') {
      const f = segmentFacts(bytes, trustedKeys);
      if (f) facts.set(key, f);
    }
    return bytes;
  };
  const take = (key: string) => {
    const f = facts.get(key);
    facts.delete(key);
    return f;
  };
  const plain: ObjectStore = {
    location: store.location,
    putIfAbsent: (key, bytes, options) => store.putIfAbsent(key, bytes, options),
    get: async (key, options) => note(key, await store.get(key, options)),
    exists: (key) => store.exists(key),
    list: (prefix, options) => store.list(prefix, options),
  };
  let tapped: ObjectStore = plain;
  if (isVersionedStore(store)) {
    const vs: VersionedObjectStore = store;
    const versioned: VersionedObjectStore = {
      ...plain,
      listVersions: (prefix, options) => vs.listVersions(prefix, options),
      getVersion: async (key, versionId, options) =>
        note(key, await vs.getVersion(key, versionId, options)),
      describeVersion: (key, versionId) => vs.describeVersion(key, versionId),
    };
    tapped = versioned;
  }
  const top = store.listTopFolders?.bind(store);
  return { store: top ? { ...tapped, listTopFolders: top } : tapped, take };
}

/** The facts of one stored segment, or undefined when it does not parse. */
export function segmentFacts(
  bytes: Uint8Array,
  trustedKeys: readonly TrustedKey[],
): SegmentFacts | undefined {
  let seg: ParsedSegment;
  try {
    seg = parseSegment(bytes);
  } catch (err) {
    if (err instanceof AuditlockError) return undefined;
    throw err;
  }
  const sealedAt = parseTimestamp(seg.checkpoint.sealedAt);
  return {
    sealedAt,
    entriesByDay: entriesByDay(seg),
    signatures: signatureFacts(seg, trustedKeys),
  };
}

function entriesByDay(seg: ParsedSegment): Map<string, number> {
  const { header } = seg;
  const first = utcDay(parseTimestamp(header.firstReceivedAt));
  const last = utcDay(parseTimestamp(header.lastReceivedAt));
  if (first === last) return new Map([[first, header.count]]);
  const days = new Map<string, number>();
  try {
    const raw = decodeBody(seg.body, header.encoding, header.rawLength);
    for (const entry of entryViews(raw, header.count)) {
      const check = checkEntryBytes(entry);
      // An invalid entry has no trustworthy receive time: it counts on the segment's last day.
      const day = check.ok ? utcDay(check.receivedAt) : last;
      days.set(day, (days.get(day) ?? 0) + 1);
    }
  } catch (err) {
    if (!(err instanceof AuditlockError)) throw err;
    // A body that does not decode (BODY_INVALID, reported by the verifier): the header's count
    // on its last receive day is all there is to go on.
    return new Map([[last, header.count]]);
  }
  return days;
}

/** How each signature line stands; the same matching rule as the signature policy (§4.2). */
function signatureFacts(seg: ParsedSegment, trustedKeys: readonly TrustedKey[]): SignatureFact[] {
  const sealedAt = parseTimestamp(seg.checkpoint.sealedAt);
  return seg.signatures.map((sig): SignatureFact => {
    const check = checkSignature(seg.noteText, sig, trustedKeys, seg.checkpoint.origin);
    if (check.status === 'unknown-key')
      return { status: 'unknown', keyName: sig.keyName, keyId: toHex(sig.keyId) };
    const key = trustedKeys.indexOf(check.key);
    if (check.status === 'invalid') return { status: 'invalid', key };
    return { status: keyValidAt(check.key, sealedAt) ? 'valid' : 'outside-window', key };
  });
}

/** The 4-byte key ID of a trusted key, as hex (what signature lines carry). */
export function trustedKeyId(key: TrustedKey): string {
  return toHex(ecdsaKeyId(key.spki));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
