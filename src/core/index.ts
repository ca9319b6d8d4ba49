/**
 * `auditlock/core`: the pure format and verification layer, for independent verifiers and tools
 * that read a log without writing one. No I/O, no clock, no AWS SDK: the architecture test holds
 * this file to the same rules as the rest of `src/core`. Byte-level definitions: docs/FORMAT.md.
 *
 * Names are listed one by one (no `export *`) so the public surface is chosen, not inherited:
 * adding a helper to a core module does not make it API.
 */

export { type BodyEncoding, decodeBody, splitEntries } from './body-codec.js';
// Hashing, canonical JSON, the Merkle tree and its proofs (RFC 8785, RFC 9162 §2).
export { canonicalize, canonicalizeToBytes, type JsonValue } from './canonical-json.js';
// Checkpoints and signed notes (C2SP tlog-checkpoint, signed-note, tlog-proof).
export {
  assertOrigin,
  type Checkpoint,
  formatCheckpoint,
  isValidOrigin,
  MAX_ORIGIN_BYTES,
  parseCheckpoint,
} from './checkpoint.js';
export { isCanonicalSignature, normalizeSignature, verifyEcdsaP256 } from './ecdsa.js';
export {
  decodeEntry,
  type Entry,
  type EventEntry,
  encodeEntry,
  type QuarantineEntry,
} from './entry.js';
// Errors and findings: stable codes, never message text (STYLE.md "Types and errors").
export {
  AuditlockError,
  ConfigurationError,
  hasCode,
  InputError,
  type InputIssue,
  IntegrityError,
  StorageError,
} from './errors.js';
// Events, entries, segments and the store layout (docs/FORMAT.md §2–§5).
export { type AuditEvent, MAX_EVENT_BYTES, parseEvent } from './event.js';
export { FINDING_CODES, type Finding, type FindingCode, type FindingSink } from './findings.js';
export { bytesEqual, HASH_SIZE, sha256 } from './hash.js';
export {
  ecdsaKeyId,
  formatVerifierKey,
  parseVerifierKey,
  type VerifierKey,
} from './key-id.js';
export { assertLogName, classifyKey, LOG_NAME_RE, segmentKey, segmentPrefix } from './layout.js';
// Streaming verification of one log, and the ports an implementation of a store or signer fills.
export { type LogSummary, LogVerifier, type LogVerifyOptions } from './log-verifier-public.js';
export { EMPTY_ROOT, hashChildren, hashLeaf, merkleRoot, type NodeRange } from './merkle.js';
export {
  checkSignature,
  formatNote,
  type NoteSignature,
  parseNote,
  type SignatureCheck,
  signNoteText,
  type TrustedKey,
} from './note.js';
export {
  type Clock,
  isVersionedStore,
  type ObjectInfo,
  type ObjectStore,
  type ObjectVersion,
  type PutOptions,
  type PutResult,
  type ReadOptions,
  type Signer,
  type VersionedObjectStore,
  type VersionMetadata,
} from './ports.js';
export { consistencyProof, inclusionProof } from './proof.js';
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './proof-verify.js';
export {
  emptyHead,
  type LogHead,
  type SealedSegment,
  type SealInput,
  sealSegment,
} from './seal.js';
export {
  MAX_SEGMENT_BYTES,
  type ParsedSegment,
  parseSegment,
  SEGMENT_MAGIC,
  type SegmentCheckpoint,
  type SegmentHeader,
  segmentEntries,
} from './segment.js';
export {
  evaluateSignatures,
  SIGNATURE_PROBLEM_CODES,
  type SignaturePolicyInput,
  type SignatureProblem,
  type SignatureProblemCode,
  type SignatureVerdict,
} from './signature-policy.js';
export { formatTimestamp, parseTimestamp } from './timestamp.js';
export {
  formatTlogProof,
  parseTlogProof,
  TLOG_PROOF_HEADER,
  type TlogProof,
} from './tlog-proof.js';
