/**
 * `bundle.json`: present at the root of an evidence bundle (a folder holding a contiguous range of
 * segments of one or more logs). It is not signed and not trusted: it only tells the verifier at
 * which sequence number each log's range starts, so a range that does not start at segment 0 is
 * not reported as a gap. Everything else is checked as usual; each segment carries the frontier
 * before it, so a range verifies on its own.
 */
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { fromUtf8 } from '../core/encoding.js';
import type { FindingSink } from '../core/findings.js';
import { BUNDLE_MANIFEST_KEY, LOG_NAME_RE } from '../core/layout.js';
import type { ObjectStore } from '../core/ports.js';

export const BUNDLE_FORMAT = 'auditlock-bundle/1';

const manifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  createdAt: z.string().max(64),
  source: z.string().max(2048),
  logs: z.record(
    z.string().regex(LOG_NAME_RE),
    z.strictObject({
      origin: z.string().min(1).max(1024),
      firstSeq: z.number().int().nonnegative(),
      lastSeq: z.number().int().nonnegative(),
    }),
  ),
});

export type BundleManifest = z.infer<typeof manifestSchema>;

/**
 * Reads `bundle.json` if the store has one. A malformed manifest is a finding, and is then ignored.
 */
export async function readBundleManifest(
  store: ObjectStore,
  sink: FindingSink,
): Promise<BundleManifest | undefined> {
  const bytes = await store.get(BUNDLE_MANIFEST_KEY);
  if (!bytes) return undefined;
  try {
    return manifestSchema.parse(JSON.parse(fromUtf8(bytes)));
  } catch {
    sink({
      code: 'UNEXPECTED_OBJECT',
      key: BUNDLE_MANIFEST_KEY,
      detail: `${BUNDLE_MANIFEST_KEY} is not a valid ${BUNDLE_FORMAT} manifest`,
    });
    return undefined;
  }
}
