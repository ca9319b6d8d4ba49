/**
 * Verification findings: every problem the verifier can report, with a stable code. Codes are part
 * of the public interface (scripts and dashboards match on them); never rename one. Each code has
 * a row in docs/FORMAT.md §5 saying exactly when it applies.
 *
 * A finding is always about stored data (or what the store says about it). Wrong input from the
 * user (an unreadable trusted-keys file, a checkpoint not signed by a trusted key) is a coded
 * error with exit status 2 instead, and a programming error is never turned into a finding.
 */
export const FINDING_CODES = {
  SEGMENT_MALFORMED: 'the object is not a well-formed segment',
  CHECKPOINT_MALFORMED: "the segment's checkpoint text is malformed",
  HEADER_INVALID: "the segment's header is not valid JSON of the expected shape",
  HEADER_INCONSISTENT: 'header fields contradict each other or the checkpoint',
  BODY_INVALID: 'the entries section does not decode to the declared entries',
  SIGNATURE_INVALID: 'a signature from a trusted key does not verify',
  SIGNATURE_UNTRUSTED: 'no signature from a trusted key',
  SIGNATURE_UNEXPECTED: 'a signature line from an unknown key sits beside the trusted one',
  KEY_NOT_VALID_AT_SEAL_TIME: 'signed by a trusted key outside its validity window',
  ORIGIN_MISMATCH: 'the checkpoint origin is not the log origin',
  SEQUENCE_MISMATCH: 'the signed sequence number differs from the object key',
  SEQUENCE_GAP: 'segments are missing',
  PREV_HASH_MISMATCH: 'the previous-segment hash does not match the previous segment',
  PAYLOAD_HASH_MISMATCH: 'the header and body do not hash to the signed payload hash',
  LEAF_INDEX_MISMATCH: 'the first leaf index does not continue the previous segment',
  FRONTIER_MISMATCH: 'a stored frontier differs from the one computed from the log',
  ROOT_MISMATCH: 'the entries do not hash to the signed tree root',
  ENTRY_INVALID: 'an entry is not a valid log entry',
  RECEIVE_TIME_REGRESSION: 'a receive time is earlier than the one before it',
  RECEIVE_TIME_MISMATCH: "the header's receive times differ from its entries'",
  SEAL_TIME_REGRESSION: 'a seal time is earlier than the previous seal or the last receive time',
  UNEXPECTED_OBJECT: 'an object in the store is not part of any log',
  LOG_TRUNCATED: 'the log is shorter than a trusted size or checkpoint',
  CHECKPOINT_MISMATCH: 'the log disagrees with a trusted checkpoint (a fork)',
  CHECKPOINT_UNMATCHED: 'a trusted checkpoint has the origin of no verified log',
  CHECKPOINT_NOT_COVERED: 'a trusted checkpoint lies where the stored segments cannot check it',
  ORIGIN_DUPLICATE: 'two logs in the store have the same origin',
  LOG_EMPTY: 'the store, or a requested log, has no segments',
  BUNDLE_MANIFEST_INVALID: 'bundle.json is missing, malformed, or disagrees with the bundle',
  SEALED_FIELD_INVALID:
    "with the key store: a sealed field's key exists but the field does not open or match its commitment",
  BUNDLE_INDEX_INVALID:
    "an event-id index file of a bundle is malformed or not made from its segment's bytes",
  OBJECT_UNREADABLE: 'a listed object could not be read',
  OBJECT_TOO_LARGE: 'a listed object is larger than any segment can be; it is not downloaded',
  VERSION_METADATA_MISSING:
    'the store gave no retention or checksum metadata for a segment version',
  OBJECT_SHADOWED: 'a segment key has more than one version',
  OBJECT_DELETE_MARKER: 'a segment key has a delete marker',
  RETENTION_MISSING: 'a segment version is not under COMPLIANCE retention',
  RETENTION_TOO_SHORT: "a segment version's retention ends before the required date",
  CHECKSUM_MISMATCH: "the store's checksum differs from the stored bytes",
  WITNESS_OBJECT_MALFORMED:
    'an object under <log>/witness/ is not a cosigned checkpoint of the log',
  WITNESS_LOG_SIGNATURE_INVALID: 'a cosigned checkpoint does not carry an accepted log signature',
  WITNESS_COSIGNATURE_INVALID: 'a cosignature line from a trusted witness key does not verify',
  WITNESS_QUORUM_NOT_MET: 'no checkpoint of the log is cosigned by enough trusted witnesses',
  VERIFY_STATE_INVALID:
    "the verifier's stored state for the log is not valid; the log is verified in full",
  REPLICA_MISSING: 'a segment of the primary is not in the replica, and nothing says it is coming',
  REPLICA_MISMATCH: 'the replica of a segment holds other bytes than the primary',
  REPLICA_RETENTION_MISMATCH:
    'the replica has another lock mode, a shorter retention or no legal hold',
  REPLICA_LAG:
    'a source object has been PENDING without its replica for longer than the RTC window',
  REPLICA_FAILED: "a source object's replication status is FAILED",
  REPLICA_STATUS_INVALID: 'a replication status is not what replication sets on that side',
  REPLICA_AHEAD: 'the replica has a segment the primary does not list or hides',
} as const;

export type FindingCode = keyof typeof FINDING_CODES;

/** Whether `code` is one of {@link FINDING_CODES}. */
export function isFindingCode(code: string): code is FindingCode {
  return Object.hasOwn(FINDING_CODES, code);
}

export type Finding = {
  readonly code: FindingCode;
  /** Log name, when the finding belongs to one. */
  readonly log?: string | undefined;
  /** Segment sequence number. */
  readonly seq?: number | undefined;
  /** Store key of the object concerned. */
  readonly key?: string | undefined;
  /** Leaf index of the entry concerned. */
  readonly index?: number | undefined;
  /** What exactly is wrong, with expected and actual values where useful. */
  readonly detail: string;
};

export type FindingSink = (finding: Finding) => void;
