/**
 * The wire format of C2SP tlog-witness `add-checkpoint` (https://c2sp.org/tlog-witness): the
 * request body, the 409 and 200 response bodies, and the client port that carries them.
 *
 * Request: `old <size>\n`, zero to 63 consistency-proof lines (one base64 hash each), an empty
 * line, then the checkpoint as a signed note. 409: `text/x.tlog.size`, body `<size>\n`. 200: one
 * or more note signature lines (cosignatures), each ending in a newline.
 */
import { fromBase64, fromUtf8, toBase64, utf8 } from './encoding.js';
import { InputError } from './errors.js';
import { HASH_SIZE } from './hash.js';
import { type NoteSignature, parseSignatureLine } from './note.js';

/** tlog-witness: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;
/** The reference witness caps request bodies at 16 KiB; so do we (server and client). */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** The 409 Content-Type (tlog-witness). */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

export type AddCheckpointRequest = {
  /** Size of the latest checkpoint the client believes the witness cosigned (0: none). */
  readonly oldSize: number;
  /** RFC 6962 §2.1.2 consistency proof from `oldSize` to the checkpoint's size. */
  readonly proof: readonly Uint8Array[];
  /** The checkpoint as a signed note (text, blank line, signature lines). */
  readonly checkpoint: string;
};

/** A witness's HTTP answer, as the protocol sees it. */
export type WitnessResponse = {
  readonly status: number;
  readonly contentType?: string | undefined;
  readonly body: Uint8Array;
};

/**
 * Carries an add-checkpoint request to a witness: over HTTP (`src/adapters/witness-http-client.ts`)
 * or in process (the witness use case itself).
 *
 * Contract: resolves with whatever the witness answered, any status; throws `StorageError`
 * (`retryable: true` for network failures and timeouts) only when there is no answer at all.
 */
export interface WitnessClient {
  /** For messages, e.g. the witness URL. */
  readonly description: string;
  addCheckpoint(body: Uint8Array): Promise<WitnessResponse>;
}

const SIZE_RE = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Encodes a request body.
 * @throws InputError `REQUEST_INVALID` for a bad size, a proof hash that is not 32 bytes, or too
 *   many proof lines.
 */
export function formatAddCheckpoint(req: AddCheckpointRequest): Uint8Array {
  if (!Number.isSafeInteger(req.oldSize) || req.oldSize < 0)
    throw new InputError('REQUEST_INVALID', `old size ${req.oldSize} is not a tree size`);
  if (req.proof.length > MAX_PROOF_LINES || req.proof.some((h) => h.length !== HASH_SIZE))
    throw new InputError('REQUEST_INVALID', 'a proof is at most 63 hashes of 32 bytes');
  const lines = [`old ${req.oldSize}`, ...req.proof.map(toBase64), ''];
  return utf8(`${lines.join('\n')}\n${req.checkpoint}`);
}

/**
 * Decodes a request body strictly (the witness answers 400 to anything this refuses).
 * @throws InputError `REQUEST_MALFORMED` naming what is wrong.
 */
export function parseAddCheckpoint(body: Uint8Array): AddCheckpointRequest {
  const bad = (why: string): never => {
    throw new InputError('REQUEST_MALFORMED', `add-checkpoint body ${why}`);
  };
  if (body.length > MAX_REQUEST_BYTES) bad(`is larger than ${MAX_REQUEST_BYTES} bytes`);
  let text = '';
  try {
    text = fromUtf8(body);
  } catch {
    bad('is not UTF-8');
  }
  const blank = text.indexOf('\n\n');
  if (blank < 0) bad('has no empty line before the checkpoint');
  const [oldLine = '', ...proofLines] = text.slice(0, blank).split('\n');
  const size = oldLine.startsWith('old ') ? oldLine.slice(4) : '';
  if (!SIZE_RE.test(size) || !Number.isSafeInteger(Number(size)))
    bad('does not start with "old <size>"');
  if (proofLines.length > MAX_PROOF_LINES) bad(`has more than ${MAX_PROOF_LINES} proof lines`);
  const proof = proofLines.map((line, i) => {
    let hash: Uint8Array = new Uint8Array();
    try {
      hash = fromBase64(line);
    } catch {
      bad(`proof line ${i + 1} is not canonical base64`);
    }
    if (hash.length !== HASH_SIZE) bad(`proof line ${i + 1} is not a ${HASH_SIZE}-byte hash`);
    return hash;
  });
  return { oldSize: Number(size), proof, checkpoint: text.slice(blank + 2) };
}

/** The body of a 409 answer: `<size>\n`. */
export function formatTlogSize(size: number): Uint8Array {
  return utf8(`${size}\n`);
}

/**
 * Reads a 409 answer's size; `undefined` unless the Content-Type is `text/x.tlog.size` and the
 * body is exactly one decimal size and a newline (a 409 for a same-size root mismatch also
 * carries it, so the caller compares it with what it sent).
 */
export function parseTlogSize(res: WitnessResponse): number | undefined {
  const type = res.contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== TLOG_SIZE_CONTENT_TYPE) return undefined;
  let text: string;
  try {
    text = fromUtf8(res.body);
  } catch {
    return undefined;
  }
  if (!text.endsWith('\n') || !SIZE_RE.test(text.slice(0, -1))) return undefined;
  const size = Number(text.slice(0, -1));
  return Number.isSafeInteger(size) ? size : undefined;
}

/**
 * The signature lines of a 200 answer.
 * @throws InputError `RESPONSE_MALFORMED` unless the body is one or more signature lines, each
 *   ending in a newline.
 */
export function parseCosignatureLines(body: Uint8Array): NoteSignature[] {
  let text: string;
  try {
    text = fromUtf8(body);
  } catch (cause) {
    throw new InputError('RESPONSE_MALFORMED', 'witness answer is not UTF-8', { cause });
  }
  if (text.length === 0 || !text.endsWith('\n'))
    throw new InputError('RESPONSE_MALFORMED', 'witness answer is not newline-terminated lines');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length > 16)
    throw new InputError('RESPONSE_MALFORMED', 'witness answer has more than 16 lines');
  try {
    return lines.map(parseSignatureLine);
  } catch (cause) {
    throw new InputError('RESPONSE_MALFORMED', 'witness answer has a malformed signature line', {
      cause,
    });
  }
}
