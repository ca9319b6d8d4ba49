/**
 * `bundle.json`: present at the root of an evidence bundle (a folder holding a contiguous range of
 * segments of one or more logs; docs/FORMAT.md §7). It is not signed and not trusted. It is read
 * only when the user says the folder is a bundle (`verify --bundle`): then it tells the verifier
 * at which sequence number each log's range starts, so a range that does not start at segment 0
 * is not reported as a gap, and the stored range is compared with what it declares. Everything
 * else is checked as usual; each segment carries the frontier before it, so a range verifies on
 * its own, and a trusted checkpoint the range cannot reach is reported, never dropped.
 *
 * Format 2 (FORMAT.md §7.1, written by `pull`) adds per segment what the source store reported
 * (hash, size, S3 version id, retention, checksum, other versions), the cosigned checkpoints
 * copied, and the keys the puller trusted. Format 1 bundles are read as before.
 *
 * The manifest's schemas are in bundle-manifest-schema.ts, which loads zod: it is imported only
 * when a manifest is read (`--bundle`), never by a plain verification (issue 14).
 */
import { fromUtf8, toBase64 } from '../core/encoding.js';
import { AuditlockError } from '../core/errors.js';
import type { FindingSink } from '../core/findings.js';
import { BUNDLE_MANIFEST_KEY } from '../core/layout.js';
import type { LogSummary } from '../core/log-verifier.js';
import type { ObjectStore, VersionMetadata } from '../core/ports.js';
import type {
  BundleManifest,
  BundleS3Record,
  BundleSegmentRecord,
} from './bundle-manifest-schema.js';

export type {
  BundleKeyRecord,
  BundleManifest,
  BundleManifestV1,
  BundleManifestV2,
  BundleS3Record,
  BundleSegmentRecord,
  BundleWitnessRecord,
} from './bundle-manifest-schema.js';

export const BUNDLE_FORMAT = 'auditlock-bundle/1';
export const BUNDLE_FORMAT_V2 = 'auditlock-bundle/2';

/** Largest format-1 manifest: a few hundred bytes per log; anything bigger is not one. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Largest format-2 manifest: about 350 bytes per segment, so some 180,000 segments. */
export const MAX_MANIFEST_V2_BYTES = 64 * 1024 * 1024;

/**
 * Reads `bundle.json`. A missing, oversized, unreadable or malformed manifest is a finding
 * (`BUNDLE_MANIFEST_INVALID`), and the bundle is then verified as a store from segment 0.
 * @throws only programming errors (store failures and bad bytes are findings)
 */
export async function readBundleManifest(
  store: ObjectStore,
  sink: FindingSink,
): Promise<BundleManifest | undefined> {
  const invalid = (why: string): undefined => {
    sink({
      code: 'BUNDLE_MANIFEST_INVALID',
      key: BUNDLE_MANIFEST_KEY,
      detail: `${BUNDLE_MANIFEST_KEY} ${why}; segments are verified from 0`,
    });
    return undefined;
  };
  let bytes: Uint8Array | undefined;
  try {
    bytes = await store.get(BUNDLE_MANIFEST_KEY, { maxBytes: MAX_MANIFEST_V2_BYTES });
  } catch (err) {
    if (!(err instanceof AuditlockError)) throw err;
    return invalid(`cannot be read (${err.code})`);
  }
  if (!bytes) return invalid('is missing (the folder was verified with --bundle)');
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(bytes));
  } catch {
    return invalid('is not UTF-8 JSON');
  }
  const v2 = (json as { format?: unknown } | null)?.format === BUNDLE_FORMAT_V2;
  const limit = v2 ? MAX_MANIFEST_V2_BYTES : MAX_MANIFEST_BYTES;
  if (bytes.length > limit) return invalid(`is over ${limit} bytes`);
  const { parseBundleManifest } = await import('./bundle-manifest-schema.js');
  const parsed = parseBundleManifest(json, v2);
  if (!parsed.ok)
    return invalid(
      `is not a valid ${v2 ? BUNDLE_FORMAT_V2 : BUNDLE_FORMAT} manifest (${parsed.issues.join('; ')})`,
    );
  const { manifest } = parsed;
  for (const [log, m] of Object.entries(manifest.logs))
    if (m.lastSeq < m.firstSeq)
      return invalid(`says log ${log} ends (${m.lastSeq}) before it starts (${m.firstSeq})`);
  if (manifest.format === BUNDLE_FORMAT_V2)
    for (const [log, m] of Object.entries(manifest.logs)) {
      const expected = m.lastSeq - m.firstSeq + 1;
      if (m.segments.length !== expected || m.segments.some((r, i) => r.seq !== m.firstSeq + i))
        return invalid(
          `does not hold one record per segment ${m.firstSeq}..${m.lastSeq} of log ${log}, in order`,
        );
    }
  return manifest;
}

/** Format 2's record of segment `seq` of `log`, if the manifest is format 2 and has one. */
export function bundleSegmentRecord(
  manifest: BundleManifest | undefined,
  log: string,
  seq: number,
): BundleSegmentRecord | undefined {
  if (manifest?.format !== BUNDLE_FORMAT_V2) return undefined;
  const m = manifest.logs[log];
  return m?.segments[seq - m.firstSeq];
}

/** The version metadata a format-2 record says S3 reported, for the §5 storage checks. */
export function recordedVersionMetadata(record: BundleS3Record): VersionMetadata {
  return {
    lockMode: record.lockMode,
    retainUntil: record.retainUntil === undefined ? undefined : new Date(record.retainUntil),
    legalHold: record.legalHold,
    checksumSha256: record.checksumSha256,
    replicationStatus: record.replicationStatus,
  };
}

/** A finding about one segment of a format-2 bundle, as the verifier reports it. */
export type BundleSegmentFinding = {
  readonly code: 'BUNDLE_MANIFEST_INVALID' | 'OBJECT_SHADOWED' | 'OBJECT_DELETE_MARKER';
  readonly detail: string;
};

/**
 * What a format-2 manifest says against one stored segment (FORMAT.md §7.1): a missing record,
 * a hash or size other than recorded, other versions and delete markers S3 reported. Empty for a
 * format-1 manifest, or none.
 */
export function checkBundleSegment(
  manifest: BundleManifest | undefined,
  log: string,
  seq: number,
  read: { readonly hash: Uint8Array; readonly size: number } | undefined,
): BundleSegmentFinding[] {
  if (manifest?.format !== BUNDLE_FORMAT_V2 || !manifest.logs[log]) return [];
  const record = bundleSegmentRecord(manifest, log, seq);
  if (!record)
    return [
      {
        code: 'BUNDLE_MANIFEST_INVALID',
        detail: `${BUNDLE_MANIFEST_KEY} has no record of segment ${seq} of log ${log}`,
      },
    ];
  const out: BundleSegmentFinding[] = [];
  if (read && (toBase64(read.hash) !== record.sha256 || read.size !== record.size))
    out.push({
      code: 'BUNDLE_MANIFEST_INVALID',
      detail: `segment is ${read.size} bytes hashing to ${toBase64(read.hash)}; ${BUNDLE_MANIFEST_KEY} recorded ${record.size} bytes hashing to ${record.sha256} (changed since the pull)`,
    });
  const s3 = record.s3;
  if (s3 && s3.otherVersions.length > 0)
    out.push({
      code: 'OBJECT_SHADOWED',
      detail: `the source reported ${s3.otherVersions.length + 1} versions (${[s3.versionId, ...s3.otherVersions].join(', ')}); the pulled one is ${s3.versionId}`,
    });
  if (s3 && s3.deleteMarkers.length > 0)
    out.push({
      code: 'OBJECT_DELETE_MARKER',
      detail: `the source reported ${s3.deleteMarkers.length} delete marker(s) (${s3.deleteMarkers.join(', ')}) hiding the segment`,
    });
  return out;
}

/**
 * Compares what the manifest declares with what was verified: each verified log must be listed,
 * with its origin and its stored segment range; each listed log among `verified` must be there.
 */
export function checkBundleManifest(
  manifest: BundleManifest,
  logs: readonly LogSummary[],
  verified: readonly string[] | undefined,
  sink: FindingSink,
): void {
  const report = (log: string, detail: string) =>
    sink({ code: 'BUNDLE_MANIFEST_INVALID', log, key: BUNDLE_MANIFEST_KEY, detail });
  const byName = new Map(logs.map((l) => [l.log, l]));
  for (const l of logs) {
    const m = manifest.logs[l.log];
    if (!m) {
      report(l.log, `log ${l.log} is in the bundle but not in ${BUNDLE_MANIFEST_KEY}`);
      continue;
    }
    if (l.origin !== undefined && l.origin !== m.origin)
      report(
        l.log,
        `origin ${JSON.stringify(l.origin)}, manifest says ${JSON.stringify(m.origin)}`,
      );
    if (l.segments > 0 && (l.firstSeq !== m.firstSeq || l.lastSeq !== m.lastSeq))
      report(
        l.log,
        `stored segments ${l.firstSeq}..${l.lastSeq}, manifest says ${m.firstSeq}..${m.lastSeq}`,
      );
  }
  for (const name of Object.keys(manifest.logs))
    if ((verified === undefined || verified.includes(name)) && !byName.has(name))
      report(name, `${BUNDLE_MANIFEST_KEY} lists log ${name}, which has no segments here`);
}
