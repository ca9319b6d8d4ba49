/**
 * C2SP tlog-proof (https://c2sp.org/tlog-proof): an offline-verifiable proof that an entry is in
 * the log. auditlock puts the entry's exact bytes in the `extra` line, so the proof carries
 * everything needed: the verifier hashes `extra` as the leaf (RFC 9162 §2.1.1), so the extra data
 * is authenticated by the inclusion proof and the signed checkpoint rather than trusted.
 */
import { fromBase64, toBase64 } from './encoding.js';
import { MAX_ENTRY_BYTES } from './entry.js';
import { IntegrityError } from './errors.js';
import { HASH_SIZE } from './hash.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
/** Most proof hashes: an inclusion proof in a tree of up to 2^64 leaves. */
export const MAX_PROOF_HASHES = 64;
/** Longest `extra` line payload in base64 characters: an entry of {@link MAX_ENTRY_BYTES}. */
const MAX_EXTRA_BASE64 = 4 * Math.ceil(MAX_ENTRY_BYTES / 3);

export type TlogProof = {
  readonly extra: Uint8Array | undefined;
  readonly index: number;
  readonly hashes: readonly Uint8Array[];
  /** The checkpoint as a signed note (text, blank line, signature lines). */
  readonly checkpointNote: string;
};

export function formatTlogProof(p: TlogProof): string {
  const lines = [TLOG_PROOF_HEADER];
  if (p.extra) lines.push(`extra ${toBase64(p.extra)}`);
  lines.push(`index ${p.index}`, ...p.hashes.map(toBase64), '');
  return `${lines.join('\n')}\n${p.checkpointNote}`;
}

/**
 * Parses a tlog-proof strictly. A proof comes from whoever hands it over, so sizes are bounded
 * before decoding: `extra` holds at most one entry ({@link MAX_ENTRY_BYTES}) and there are at
 * most {@link MAX_PROOF_HASHES} hashes. The checkpoint note is returned as text, for `parseNote`.
 * @throws IntegrityError `PROOF_MALFORMED`
 */
export function parseTlogProof(text: string): TlogProof {
  const bad = (why: string): never => {
    throw new IntegrityError('PROOF_MALFORMED', `tlog-proof ${why}`);
  };
  const blank = text.indexOf('\n\n');
  if (blank < 0) bad('has no blank line before its checkpoint');
  // header, extra, index and the hashes: a longer head is refused without splitting all of it.
  const lines = text.slice(0, blank).split('\n', MAX_PROOF_HASHES + 4);
  if (lines.shift() !== TLOG_PROOF_HEADER) bad(`does not start with ${TLOG_PROOF_HEADER}`);
  let extra: Uint8Array | undefined;
  if (lines[0]?.startsWith('extra ')) {
    if ((lines[0]?.length ?? 0) - 6 > MAX_EXTRA_BASE64)
      bad('has an extra line longer than an entry');
    try {
      extra = fromBase64((lines.shift() as string).slice(6));
    } catch {
      bad('has a bad extra line');
    }
    if ((extra as Uint8Array).length > MAX_ENTRY_BYTES) bad('has an extra longer than an entry');
  }
  const indexLine = lines.shift() ?? '';
  const m = /^index (0|[1-9][0-9]{0,15})$/.exec(indexLine);
  if (!m || !Number.isSafeInteger(Number(m[1]))) return bad('has a bad index line');
  if (lines.length > MAX_PROOF_HASHES) bad(`has more than ${MAX_PROOF_HASHES} proof hashes`);
  const hashes = lines.map((l, i) => {
    try {
      const h = fromBase64(l);
      if (h.length === HASH_SIZE) return h;
    } catch {}
    return bad(`has a bad proof hash on line ${i + 1}`);
  });
  return { extra, index: Number(m[1]), hashes, checkpointNote: text.slice(blank + 2) };
}
