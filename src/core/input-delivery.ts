/**
 * The delivery ids of JSON Lines input (source `cli`), a convention on the free-text `delivery.id`
 * of docs/FORMAT.md §3 that lets an interrupted ingest resume from what the log itself holds:
 *
 *     <input name>:<line number>:<chain>
 *
 * - the input name: the file's base name or `stdin` (or `--input-name`), at most
 *   {@link MAX_INPUT_NAME_LENGTH} UTF-16 code units, control characters replaced by `?`;
 * - the line number: 1-based, counting LF bytes;
 * - the chain: padded base64 of H_n, where H_0 is 32 zero bytes and
 *   H_n = SHA-256(H_(n-1) || the bytes of line n exactly as read, its LF included if it has one).
 *   H_n commits to the whole input through line n, so resuming checks, before anything is written,
 *   that the input being read begins with exactly the bytes the log's entries came from.
 *
 * Such an id is at most 256 + 1 + 16 + 1 + 44 = 318 characters with no control characters, within
 * the §3 rules (≤ 512, no control characters); older ids (`events.jsonl:12`) have no chain.
 */
import { fromBase64, toBase64 } from './encoding.js';
import { HASH_SIZE, sha256 } from './hash.js';

export const INPUT_DELIVERY_SOURCE = 'cli';
export const MAX_INPUT_NAME_LENGTH = 256;

/** H_0 of the input chain. */
export const INPUT_CHAIN_START: Uint8Array = new Uint8Array(HASH_SIZE);

/** H_n from H_(n-1) and line n's bytes as read (LF included). */
export function nextInputChain(previous: Uint8Array, raw: Uint8Array): Uint8Array {
  return sha256(previous, raw);
}

/** `name` as it is recorded: control characters and unpaired surrogates become `?`, clipped. */
export function inputNameOf(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: delivery ids refuse exactly these
  const clean = name.replace(/[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDFFF]/gu, '?');
  return clean.length > MAX_INPUT_NAME_LENGTH ? clean.slice(0, MAX_INPUT_NAME_LENGTH) : clean;
}

/** The delivery id of line `line` of input `name` (already cleaned by {@link inputNameOf}). */
export function formatInputDeliveryId(name: string, line: number, chain: Uint8Array): string {
  return `${name}:${line}:${toBase64(chain)}`;
}

export type InputDelivery = {
  readonly name: string;
  readonly line: number;
  /** Absent on ids written before the chain existed (`events.jsonl:12`). */
  readonly chain?: Uint8Array;
};

const WITH_CHAIN = /^(.*):([1-9][0-9]{0,15}):([A-Za-z0-9+/]{43}=)$/su;
const LEGACY = /^(.*):([1-9][0-9]{0,15})$/su;

/** Reads an id made by {@link formatInputDeliveryId} (or a legacy one); undefined if neither. */
export function parseInputDeliveryId(id: string): InputDelivery | undefined {
  const m = WITH_CHAIN.exec(id);
  if (m) {
    try {
      return { name: m[1] as string, line: Number(m[2]), chain: fromBase64(m[3] as string) };
    } catch {
      return undefined;
    }
  }
  const legacy = LEGACY.exec(id);
  return legacy ? { name: legacy[1] as string, line: Number(legacy[2]) } : undefined;
}
