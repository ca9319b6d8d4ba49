/**
 * `bundle.json`: present at the root of an evidence bundle (a folder holding a contiguous range of
 * segments of one or more logs; docs/FORMAT.md §7). It is not signed and not trusted. It is read
 * only when the user says the folder is a bundle (`verify --bundle`): then it tells the verifier
 * at which sequence number each log's range starts, so a range that does not start at segment 0
 * is not reported as a gap, and the stored range is compared with what it declares. Everything
 * else is checked as usual; each segment carries the frontier before it, so a range verifies on
 * its own, and a trusted checkpoint the range cannot reach is reported, never dropped.
 */
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { isValidOrigin } from '../core/checkpoint.js';
import { fromUtf8 } from '../core/encoding.js';
import { AuditlockError } from '../core/errors.js';
import type { FindingSink } from '../core/findings.js';
import { BUNDLE_MANIFEST_KEY, LOG_NAME_RE } from '../core/layout.js';
import type { LogSummary } from '../core/log-verifier.js';
import type { ObjectStore } from '../core/ports.js';

export const BUNDLE_FORMAT = 'auditlock-bundle/1';

/** Largest manifest read: a few hundred bytes per log; anything bigger is not a manifest. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

const manifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  createdAt: z.string().max(64),
  source: z.string().max(2048),
  logs: z.record(
    z.string().regex(LOG_NAME_RE),
    z.strictObject({
      origin: z.string().refine(isValidOrigin, 'not a valid origin'),
      firstSeq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
      lastSeq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    }),
  ),
});

export type BundleManifest = z.infer<typeof manifestSchema>;

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
    bytes = await store.get(BUNDLE_MANIFEST_KEY, { maxBytes: MAX_MANIFEST_BYTES });
  } catch (err) {
    if (!(err instanceof AuditlockError)) throw err;
    return invalid(`cannot be read (${err.code})`);
  }
  if (!bytes) return invalid('is missing (the folder was verified with --bundle)');
  if (bytes.length > MAX_MANIFEST_BYTES) return invalid(`is over ${MAX_MANIFEST_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(bytes));
  } catch {
    return invalid('is not UTF-8 JSON');
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return invalid(`is not a valid ${BUNDLE_FORMAT} manifest (${where.join('; ')})`);
  }
  for (const [log, m] of Object.entries(parsed.data.logs))
    if (m.lastSeq < m.firstSeq)
      return invalid(`says log ${log} ends (${m.lastSeq}) before it starts (${m.firstSeq})`);
  return parsed.data;
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
