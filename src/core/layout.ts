/**
 * Where things live in a store. One store holds any number of logs side by side (one origin each,
 * e.g. one per Lambda shard or lane); each log's segments are `<log>/seg/<seq>.seg` with the
 * sequence number as 20 zero-padded decimal digits, so listing order is sequence order and the head
 * can be found by probing keys. Everything under `<log>/witness/` is reserved for witness
 * cosignatures (checked with trusted witness keys); `bundle.json` at the
 * root describes an evidence bundle, and `<log>/ids/<seq>.ids` are its event-id index files.
 * Anything else is unexpected (docs/FORMAT.md §1).
 */
import { ConfigurationError } from './errors.js';

export const LOG_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const SEQ_DIGITS = 20;
const SEGMENT_KEY_RE = /^([a-z0-9][a-z0-9._-]{0,62})\/seg\/([0-9]{20})\.seg$/;
const ID_INDEX_KEY_RE = /^([a-z0-9][a-z0-9._-]{0,62})\/ids\/([0-9]{20})\.ids$/;
export const BUNDLE_MANIFEST_KEY = 'bundle.json';

/**
 * Checks a log name: lowercase letters, digits, `.`, `_`, `-`; 1–63 characters.
 * @throws ConfigurationError `LOG_NAME_INVALID`
 */
export function assertLogName(name: string): void {
  if (!LOG_NAME_RE.test(name))
    throw new ConfigurationError(
      'LOG_NAME_INVALID',
      `log name ${JSON.stringify(name)} must match ${LOG_NAME_RE.source}`,
    );
}

/** Key of segment `seq` of `log`. */
export function segmentKey(log: string, seq: number): string {
  return `${log}/seg/${String(seq).padStart(SEQ_DIGITS, '0')}.seg`;
}

/** Key of the event-id index file of segment `seq` of `log` (evidence bundles, FORMAT.md §7.2). */
export function idIndexKey(log: string, seq: number): string {
  return `${log}/ids/${String(seq).padStart(SEQ_DIGITS, '0')}.ids`;
}

/** Prefix under which all of one log's segments are listed. */
export function segmentPrefix(log: string): string {
  return `${log}/seg/`;
}

export type ObjectKind =
  | { readonly kind: 'segment'; readonly log: string; readonly seq: number }
  | { readonly kind: 'bundle-manifest' }
  | { readonly kind: 'id-index'; readonly log: string; readonly seq: number }
  | { readonly kind: 'witness'; readonly log: string }
  | { readonly kind: 'unexpected' };

/** Prefix reserved for `log`'s witness cosignatures. */
export function witnessPrefix(log: string): string {
  return `${log}/witness/`;
}

const WITNESS_KEY_RE = /^([a-z0-9][a-z0-9._-]{0,62})\/witness\/.+$/;

/** Classifies a store key. */
export function classifyKey(key: string): ObjectKind {
  const m = SEGMENT_KEY_RE.exec(key);
  if (m) {
    const seq = Number(m[2]);
    if (Number.isSafeInteger(seq)) return { kind: 'segment', log: m[1] as string, seq };
    return { kind: 'unexpected' };
  }
  if (key === BUNDLE_MANIFEST_KEY) return { kind: 'bundle-manifest' };
  const ids = ID_INDEX_KEY_RE.exec(key);
  if (ids) {
    const seq = Number(ids[2]);
    if (Number.isSafeInteger(seq)) return { kind: 'id-index', log: ids[1] as string, seq };
    return { kind: 'unexpected' };
  }
  const w = WITNESS_KEY_RE.exec(key);
  if (w) return { kind: 'witness', log: w[1] as string };
  return { kind: 'unexpected' };
}
