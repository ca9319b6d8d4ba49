/**
 * The zod schemas of `bundle.json` (docs/FORMAT.md §7, §7.1; see bundle-manifest.ts), apart so
 * that only reading a manifest loads zod (issue 14).
 */
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { isValidOrigin } from '../core/checkpoint.js';
import { fromBase64 } from '../core/encoding.js';
import { ecdsaKeyId } from '../core/key-id.js';
import { LOG_NAME_RE } from '../core/layout.js';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_V2 } from './bundle-manifest.js';

const seqSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const rfc3339 = z.iso.datetime({ offset: true });
const base64Of = (bytes: number) =>
  z.string().refine((t) => {
    try {
      return fromBase64(t).length === bytes;
    } catch {
      return false;
    }
  }, `not canonical base64 of ${bytes} bytes`);
const versionIds = z.array(z.string().min(1).max(1024)).max(1000);

const logV1 = z.strictObject({
  origin: z.string().refine(isValidOrigin, 'not a valid origin'),
  firstSeq: seqSchema,
  lastSeq: seqSchema,
});

const manifestV1Schema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  createdAt: z.string().max(64),
  source: z.string().max(2048),
  logs: z.record(z.string().regex(LOG_NAME_RE), logV1),
});

/** What S3 reported for the version pulled (FORMAT.md §7.1). */
const s3RecordSchema = z.strictObject({
  versionId: z.string().min(1).max(1024),
  lockMode: z.string().max(64).optional(),
  retainUntil: rfc3339.optional(),
  legalHold: z.boolean(),
  checksumSha256: z.string().max(64).optional(),
  lastModified: rfc3339.optional(),
  replicationStatus: z.string().max(64).optional(),
  otherVersions: versionIds,
  deleteMarkers: versionIds,
});

const segmentRecordSchema = z.strictObject({
  seq: seqSchema,
  sha256: base64Of(32),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  s3: s3RecordSchema.optional(),
});

const keyRecordSchema = z
  .strictObject({
    keyId: z.string().regex(/^[0-9a-f]{8}$/),
    spki: z.string().min(1).max(4096),
    label: z.string().max(1024).optional(),
    notBefore: rfc3339.optional(),
    notAfter: rfc3339.optional(),
  })
  .refine((k) => {
    try {
      return Buffer.from(ecdsaKeyId(fromBase64(k.spki))).toString('hex') === k.keyId;
    } catch {
      return false;
    }
  }, 'keyId is not the key ID of spki');

const manifestV2Schema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT_V2),
  createdAt: z.string().max(64),
  source: z.string().max(2048),
  keys: z.array(keyRecordSchema).max(256),
  logs: z.record(
    z.string().regex(LOG_NAME_RE),
    z.strictObject({
      ...logV1.shape,
      segments: z.array(segmentRecordSchema),
      witness: z.array(
        z.strictObject({
          key: z.string().min(1).max(1024),
          sha256: base64Of(32),
          size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
        }),
      ),
    }),
  ),
});

export type BundleManifestV1 = z.infer<typeof manifestV1Schema>;
export type BundleManifestV2 = z.infer<typeof manifestV2Schema>;
/** Either format; `format` tells them apart. */
export type BundleManifest = BundleManifestV1 | BundleManifestV2;
export type BundleSegmentRecord = z.infer<typeof segmentRecordSchema>;
export type BundleS3Record = z.infer<typeof s3RecordSchema>;
export type BundleKeyRecord = z.infer<typeof keyRecordSchema>;
export type BundleWitnessRecord = BundleManifestV2['logs'][string]['witness'][number];

/**
 * `json` as a manifest of format 2 (`v2`) or 1, or the first few problems of its shape, each as
 * `path: message`. The range checks that span fields are readBundleManifest's.
 */
export function parseBundleManifest(
  json: unknown,
  v2: boolean,
): { ok: true; manifest: BundleManifest } | { ok: false; issues: string[] } {
  const parsed = (v2 ? manifestV2Schema : manifestV1Schema).safeParse(json);
  if (parsed.success) return { ok: true, manifest: parsed.data };
  const issues = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return { ok: false, issues };
}
