/**
 * C2SP tlog-checkpoint note text (https://c2sp.org/tlog-checkpoint): origin line, decimal tree size
 * without leading zeros, base64 root hash, then optional non-empty extension lines.
 */
import { fromBase64, toBase64 } from './encoding.js';
import { ConfigurationError, IntegrityError } from './errors.js';
import { HASH_SIZE } from './hash.js';
import { assertNoteText, KEY_NAME_RE } from './note.js';

export type Checkpoint = {
  readonly origin: string;
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly extensions: readonly string[];
};

const SIZE_RE = /^(0|[1-9][0-9]{0,15})$/;
/** Longest origin, in UTF-8 bytes. */
export const MAX_ORIGIN_BYTES = 255;

/**
 * Whether `origin` is an origin auditlock can sign and verify: auditlock signs every checkpoint
 * under its origin as key name (tlog-checkpoint: the key name SHOULD be the origin), so an origin
 * is exactly a signed-note key name (no whitespace, no `+`), without control characters or
 * unpaired surrogates, at most {@link MAX_ORIGIN_BYTES} UTF-8 bytes. One rule for every writer
 * (CLI, Lambda, keygen) and for the checkpoint parser.
 */
export function isValidOrigin(origin: string): boolean {
  return (
    KEY_NAME_RE.test(origin) &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule forbids exactly these
    !/[\u0000-\u001f\u007f-\u009f]/.test(origin) &&
    // In `u` mode this class matches only unpaired surrogates.
    !/[\uD800-\uDFFF]/u.test(origin) &&
    new TextEncoder().encode(origin).length <= MAX_ORIGIN_BYTES
  );
}

/**
 * Checks an origin before anything is signed with it.
 * @throws ConfigurationError `ORIGIN_INVALID` naming what is wrong.
 */
export function assertOrigin(origin: string): void {
  if (!isValidOrigin(origin))
    throw new ConfigurationError(
      'ORIGIN_INVALID',
      `origin ${JSON.stringify(origin)} is not valid: it must be 1-${MAX_ORIGIN_BYTES} UTF-8 bytes with no whitespace, no '+' and no control characters (it is the signature key name)`,
    );
}

/** Formats checkpoint note text (ending in a newline). */
export function formatCheckpoint(cp: Checkpoint): string {
  const lines = [cp.origin, String(cp.treeSize), toBase64(cp.root), ...cp.extensions];
  const text = `${lines.join('\n')}\n`;
  assertNoteText(text);
  if (lines.some((l) => l.length === 0))
    throw new IntegrityError('CHECKPOINT_MALFORMED', 'checkpoint lines must be non-empty');
  return text;
}

/**
 * Parses checkpoint note text strictly.
 * @throws IntegrityError `CHECKPOINT_MALFORMED`
 */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string): never => {
    throw new IntegrityError('CHECKPOINT_MALFORMED', `checkpoint ${why}`);
  };
  try {
    assertNoteText(text);
  } catch {
    bad('text is not valid note text');
  }
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || lines.some((l) => l.length === 0)) bad('needs 3+ non-empty lines');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (!isValidOrigin(origin)) bad('origin is not a valid origin (a signature key name)');
  if (!SIZE_RE.test(size) || !Number.isSafeInteger(Number(size))) bad(`has a bad tree size`);
  let rootBytes: Uint8Array = new Uint8Array();
  try {
    rootBytes = fromBase64(root);
  } catch {
    bad('root is not base64');
  }
  if (rootBytes.length !== HASH_SIZE) bad(`root is not ${HASH_SIZE} bytes`);
  return { origin, treeSize: Number(size), root: rootBytes, extensions };
}
