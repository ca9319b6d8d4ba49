/**
 * C2SP tlog-checkpoint note text (https://c2sp.org/tlog-checkpoint): origin line, decimal tree size
 * without leading zeros, base64 root hash, then optional non-empty extension lines.
 */
import { fromBase64, toBase64 } from './encoding.js';
import { IntegrityError } from './errors.js';
import { HASH_SIZE } from './hash.js';
import { assertNoteText } from './note.js';

export type Checkpoint = {
  readonly origin: string;
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly extensions: readonly string[];
};

const SIZE_RE = /^(0|[1-9][0-9]{0,15})$/;

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
