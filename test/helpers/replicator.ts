/**
 * A test stand-in for S3 Cross-Region Replication between two Object Lock buckets, because the
 * emulator has none: moto 5.2.5 (scripts/requirements-moto.txt) stores a bucket's replication
 * configuration but copies nothing and never sets `x-amz-replication-status` (its moto/s3 has no
 * replication status at all; ../shared/AWS-NOTES.md).
 *
 * What is real: the copy. For every source version not copied yet (delete markers are not
 * replicated, as in a V2 rule without DeleteMarkerReplication), the same bytes are PUT to the same
 * key in the destination, without a condition (replication adds a version, like S3), with the
 * source's Object Lock mode, retain-until and legal hold and a SHA-256 checksum. Bytes, retention
 * and listings are what the emulator stores and returns.
 *
 * What is simulated: the replication status S3 would set (PENDING, COMPLETED, FAILED on the
 * source, REPLICA on the destination). The replicator records it, and {@link TestReplicator.view}
 * wraps a store so that `describeVersion` reports it: a store decorator standing in for the
 * `x-amz-replication-status` header S3 sends on HeadObject, not an SDK mock.
 *
 * Faults, per store key, make the replicas the tests need: `skip` (never copied although the
 * source says COMPLETED: a lost replica), `pending` (not copied yet, source PENDING: its age is
 * the test clock's distance from the version's real LastModified), `failed` (source FAILED),
 * `bytes` (other bytes copied) and `retainUntil` (copied with that retain-until instead).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Store } from '../../src/adapters/s3-store.js';
import type { ObjectStore, VersionedObjectStore } from '../../src/core/ports.js';

export type ReplicationFault =
  | { readonly kind: 'skip' }
  | { readonly kind: 'pending' }
  | { readonly kind: 'failed' }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'retainUntil'; readonly retainUntil: Date };

export type ReplicationStatus = 'PENDING' | 'COMPLETED' | 'FAILED' | 'REPLICA';

export class TestReplicator {
  readonly #client: S3Client;
  readonly #source: S3Store;
  readonly #destination: S3Store;
  /** Replication status by `key@versionId`, in either bucket (version ids are per bucket). */
  readonly #status = new Map<string, ReplicationStatus>();
  /** Source versions replication is done with (copied, skipped or failed). */
  readonly #done = new Set<string>();

  constructor(options: { client: S3Client; source: S3Store; destination: S3Store }) {
    this.#client = options.client;
    this.#source = options.source;
    this.#destination = options.destination;
  }

  /**
   * Replicates every source version not done yet, applying `faults` by store key. A `pending`
   * version stays to be copied by a later call; the others are done.
   * @returns the number of versions copied
   */
  async replicate(faults: ReadonlyMap<string, ReplicationFault> = new Map()): Promise<number> {
    let copied = 0;
    for await (const v of this.#source.listVersions('')) {
      const id = `${v.key}@${v.versionId}`;
      if (v.isDeleteMarker || this.#done.has(id)) continue;
      const fault = faults.get(v.key);
      if (fault?.kind === 'pending') {
        this.#status.set(id, 'PENDING');
        continue;
      }
      this.#done.add(id);
      if (fault?.kind === 'failed' || fault?.kind === 'skip') {
        this.#status.set(id, fault.kind === 'failed' ? 'FAILED' : 'COMPLETED');
        continue;
      }
      const bytes = await this.#source.getVersion(v.key, v.versionId);
      const lock = await this.#source.describeVersion(v.key, v.versionId);
      if (bytes === undefined || lock === undefined)
        throw new Error(`${id} vanished while replicated`);
      const retainUntil = fault?.kind === 'retainUntil' ? fault.retainUntil : lock.retainUntil;
      const out = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#destination.bucket,
          Key: this.#destination.prefix + v.key,
          Body: fault?.kind === 'bytes' ? fault.bytes : bytes,
          ...(lock.lockMode ? { ObjectLockMode: lock.lockMode as 'COMPLIANCE' } : {}),
          ...(retainUntil ? { ObjectLockRetainUntilDate: retainUntil } : {}),
          ...(lock.legalHold ? { ObjectLockLegalHoldStatus: 'ON' as const } : {}),
          ChecksumAlgorithm: 'SHA256',
        }),
      );
      if (out.VersionId === undefined) throw new Error(`no version id for the replica of ${id}`);
      this.#status.set(`${v.key}@${out.VersionId}`, 'REPLICA');
      this.#status.set(id, 'COMPLETED');
      copied++;
    }
    return copied;
  }

  /**
   * `store` (the source or the destination S3Store) as verification sees it on AWS: everything
   * passes through, and `describeVersion` carries the replication status recorded here.
   */
  view(store: S3Store): VersionedObjectStore {
    const status = this.#status;
    const viewed: VersionedObjectStore & Pick<ObjectStore, 'listTopFolders'> = {
      location: store.location,
      putIfAbsent: (key, bytes, options) => store.putIfAbsent(key, bytes, options),
      get: (key, options) => store.get(key, options),
      exists: (key) => store.exists(key),
      list: (prefix, options) => store.list(prefix, options),
      listTopFolders: () => store.listTopFolders(),
      listVersions: (prefix, options) => store.listVersions(prefix, options),
      getVersion: (key, versionId, options) => store.getVersion(key, versionId, options),
      async describeVersion(key, versionId) {
        const meta = await store.describeVersion(key, versionId);
        if (meta === undefined) return undefined;
        return { ...meta, replicationStatus: status.get(`${key}@${versionId}`) };
      },
    };
    return viewed;
  }
}
