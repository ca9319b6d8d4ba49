/**
 * Reading a log's stored cosigned checkpoints (`<log>/witness/`, FORMAT.md §9.2) for the verifier,
 * and handing them to the pure check in `src/core/witness-check.ts`.
 *
 * On a versioned store (S3) every version that is not a delete marker is read: hiding a
 * cosignature with a delete marker, or shadowing it with another version, must not make the
 * witness forget what it saw (that is exactly how a rollback would try to go unnoticed). Each
 * object is read with a 64 KiB bound.
 */
import type { CosignerKey } from '../core/cosignature.js';
import { isLastingError } from '../core/errors.js';
import type { TrustedKey } from '../core/note.js';
import { isVersionedStore, type ObjectStore, type ReadOptions } from '../core/ports.js';
import {
  collectWitnessedCheckpoints,
  type WitnessCheckFinding,
  type WitnessedCheckpoint,
} from '../core/witness-check.js';

const READ: ReadOptions = { maxBytes: 64 * 1024 };

export type StoredCosigned = { readonly key: string; readonly bytes: Uint8Array };

/**
 * Every stored cosigned-checkpoint object of `log` (all versions on a versioned store). An object
 * that is too large or unreadable becomes a `WITNESS_OBJECT_MALFORMED` finding.
 * @throws StorageError when the store cannot be listed.
 */
export async function readCosignedObjects(
  store: ObjectStore,
  log: string,
  fromSize?: number,
): Promise<{ objects: StoredCosigned[]; findings: WitnessCheckFinding[] }> {
  const prefix = `${log}/witness/`;
  // Keys sort by tree size (20 digits): everything after `<prefix><size>` has at least that size.
  const from =
    fromSize === undefined
      ? undefined
      : { startAfter: `${prefix}${String(fromSize).padStart(20, '0')}` };
  const objects: StoredCosigned[] = [];
  const findings: WitnessCheckFinding[] = [];
  const read = async (key: string, get: () => Promise<Uint8Array | undefined>) => {
    try {
      const bytes = await get();
      if (bytes !== undefined) objects.push({ key, bytes });
    } catch (err) {
      if (!isLastingError(err)) throw err;
      findings.push({
        code: 'WITNESS_OBJECT_MALFORMED',
        log,
        key,
        detail: `cannot be read (${err.code})`,
      });
    }
  };
  if (isVersionedStore(store)) {
    for await (const v of store.listVersions(prefix, from))
      if (!v.isDeleteMarker) await read(v.key, () => store.getVersion(v.key, v.versionId, READ));
  } else {
    for await (const o of store.list(prefix, from)) await read(o.key, () => store.get(o.key, READ));
  }
  return { objects, findings };
}

/**
 * The witnessed checkpoints of `log` found in `stores` (the log's store, and any `--cosignatures`
 * store), with the findings about the objects themselves.
 * @throws StorageError when a store cannot be listed.
 */
export async function witnessedCheckpointsOf(
  stores: readonly ObjectStore[],
  input: {
    readonly log: string;
    readonly origin?: string | undefined;
    readonly logKeys: readonly TrustedKey[];
    readonly witnessKeys: readonly CosignerKey[];
    /** Only cosigned checkpoints of at least this tree size. */
    readonly fromSize?: number | undefined;
  },
): Promise<{ checkpoints: WitnessedCheckpoint[]; findings: WitnessCheckFinding[] }> {
  const objects: StoredCosigned[] = [];
  const findings: WitnessCheckFinding[] = [];
  for (const store of stores) {
    const r = await readCosignedObjects(store, input.log, input.fromSize);
    objects.push(...r.objects);
    findings.push(...r.findings);
  }
  const collected = collectWitnessedCheckpoints({ ...input, objects });
  return { checkpoints: collected.checkpoints, findings: [...findings, ...collected.findings] };
}
