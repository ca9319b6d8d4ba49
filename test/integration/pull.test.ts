/**
 * pull from an Object Lock bucket on the emulator: the bundle records what S3 reported per
 * segment (version id, COMPLIANCE retention, checksum = the segment hash), verifies offline from
 * the folder alone (no S3 client is made; the endpoint is pointed at a dead port while verifying),
 * a segment shadowed in the bucket before the pull is recorded and reported, and a byte flipped in
 * the bundle afterwards is caught.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { S3Store } from '../../src/adapters/s3-store.js';
import type { BundleManifestV2 } from '../../src/app/bundle-manifest.js';
import { pullBundle } from '../../src/app/pull.js';
import { verifyStore } from '../../src/app/verify.js';
import { toBase64 } from '../../src/core/encoding.js';
import type { Finding } from '../../src/core/findings.js';
import { sha256 } from '../../src/core/hash.js';
import { segmentKey } from '../../src/core/layout.js';
import { createTestBucket, TEST_RETENTION_DAYS, testS3Client } from '../helpers/aws.js';
import { logFixture, makeKey, writeLog } from '../helpers/log-fixture.js';

describe('pull from S3', () => {
  const s3 = testS3Client();
  const key = makeKey('writer');
  let bucket: string;
  const dirs: string[] = [];
  const storeAt = (prefix: string) =>
    new S3Store({ client: s3, bucket, prefix, retention: { days: TEST_RETENTION_DAYS } });

  beforeAll(async () => {
    bucket = await createTestBucket(s3, 'pull');
  });
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function verifyOffline(out: string) {
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9'; // nothing listens there
    try {
      const findings: Finding[] = [];
      await verifyStore(new FolderStore(out), {
        trustedKeys: [key.trusted],
        bundle: true,
        minRetentionDays: TEST_RETENTION_DAYS,
        onFinding: (f) => findings.push(f),
      });
      return findings;
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
  }

  it('records S3 metadata per segment; the bundle verifies offline; shadowing and tampering are caught', async () => {
    // Prepare: 6 segments; segment 4 gets a second version on top
    const source = storeAt('p1');
    const fx = logFixture(source, key);
    fx.clock.set(Date.now()); // retention runs from the seal time
    await writeLog(fx, 60, 10);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `p1/${segmentKey('main', 4)}`,
        Body: new Uint8Array([1, 2, 3]),
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    const out = await mkdtemp(join(tmpdir(), 'al-pull-s3-'));
    dirs.push(out);

    // Act
    const r = await pullBundle({
      source,
      out,
      trustedKeys: [key.trusted],
      selection: { by: 'seq', fromSeq: 1 },
      concurrency: 4,
    });
    const manifest = JSON.parse(
      await readFile(join(out, 'bundle.json'), 'utf8'),
    ) as BundleManifestV2;
    const clean = await verifyOffline(out);

    // Assess
    expect(r.logs[0]).toMatchObject({ firstSeq: 1, lastSeq: 5, downloaded: 5 });
    const records = manifest.logs.main?.segments ?? [];
    expect(records.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const rec of records) {
      const bytes = await readFile(join(out, segmentKey('main', rec.seq)));
      expect(rec.sha256).toBe(toBase64(sha256(bytes)));
      expect(rec.s3).toMatchObject({ lockMode: 'COMPLIANCE', checksumSha256: rec.sha256 });
      expect(rec.s3?.versionId).toBeTruthy();
    }
    expect(records[3]?.s3?.otherVersions).toHaveLength(1);
    expect(clean.map((f) => [f.code, f.seq])).toEqual([['OBJECT_SHADOWED', 4]]);

    // Act: flip a byte of a pulled segment
    const file = join(out, segmentKey('main', 2));
    const bytes = await readFile(file);
    bytes.writeUInt8((bytes.at(-1) ?? 0) ^ 0x01, bytes.length - 1);
    await writeFile(file, bytes);
    const tampered = await verifyOffline(out);

    // Assess
    const at2 = tampered.filter((f) => f.seq === 2).map((f) => f.code);
    expect(at2).toContain('BUNDLE_MANIFEST_INVALID');
    expect(at2).toContain('CHECKSUM_MISMATCH');
  });
});
