import { fromUtf8 } from '../../core/encoding.js';
import { AuditlockError } from '../../core/errors.js';
import { hashLeaf } from '../../core/merkle.js';
import { verifyInclusion } from '../../core/proof-verify.js';
import { evaluateCheckpointNote } from '../../core/signed-checkpoint.js';
import { parseTlogProof } from '../../core/tlog-proof.js';
import { type CommandSpec, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { readInputFile } from '../input-file.js';
import { loadTrustOptions, TRUST_OPTIONS } from '../keys.js';
import type { Io } from '../output.js';

/**
 * Largest proof file read: an entry (at most 260 KiB, as base64), 64 hashes and a signed
 * checkpoint fit many times over.
 */
const MAX_PROOF_FILE_BYTES = 4 * 1024 * 1024;

export const verifyProofSpec: CommandSpec = {
  name: 'verify-proof',
  summary:
    'Verify an inclusion proof offline: signed checkpoint, Merkle path, and the entry it carries.',
  usage: 'verify-proof <proof file> --pubkey PEM [--origin ORIGIN] [--json]',
  description: 'Prints the proven entry. Exit status: 0 valid, 1 invalid, 2 usage or I/O error.',
  options: {
    ...TRUST_OPTIONS,
    origin: { type: 'string', value: 'ORIGIN', help: 'require this checkpoint origin' },
    json: { type: 'boolean', help: 'print the result as JSON' },
  },
  positionals: { min: 1, max: 1 },
};

export async function verifyProof(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(verifyProofSpec, argv);
  const trusted = await loadTrustOptions(p);
  const text = await readInputFile(p.positionals[0] as string, 'PROOF', MAX_PROOF_FILE_BYTES);
  const fail = (code: string, detail: string) => {
    if (p.values.json) io.stdout.write(`${JSON.stringify({ valid: false, code, detail })}\n`);
    else io.stderr.write(`INVALID: ${code}: ${detail}\n`);
    return EXIT.findings;
  };
  try {
    const proof = parseTlogProof(text);
    // The one signature policy, at the checkpoint's seal time (FORMAT.md §4.2, §6).
    const { checkpoint: cp, verdict } = evaluateCheckpointNote(proof.checkpointNote, trusted);
    const origin = stringOption(p, 'origin');
    if (origin !== undefined && cp.origin !== origin)
      return fail('ORIGIN_MISMATCH', `checkpoint origin is ${JSON.stringify(cp.origin)}`);
    if (!verdict.accepted) {
      const first = verdict.problems[0];
      return first
        ? fail(first.code, verdict.problems.map((x) => x.detail).join('; '))
        : fail('SIGNATURE_UNTRUSTED', 'the checkpoint is not signed by a trusted key');
    }
    if (!proof.extra) return fail('PROOF_MALFORMED', 'the proof carries no entry (extra line)');
    verifyInclusion(hashLeaf(proof.extra), proof.index, cp.treeSize, proof.hashes, cp.root);
    const entry = fromUtf8(proof.extra);
    let parsedEntry: unknown;
    try {
      parsedEntry = JSON.parse(entry);
    } catch {
      return fail('ENTRY_INVALID', 'the proven entry is not JSON');
    }
    const result = {
      valid: true,
      origin: cp.origin,
      index: proof.index,
      treeSize: cp.treeSize,
      segment: String(cp.seq),
      sealedAt: cp.sealedAt,
      entry: parsedEntry,
    };
    if (p.values.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else
      io.stdout.write(
        `VALID: entry ${proof.index} is in ${cp.origin} at tree size ${cp.treeSize} (segment ${result.segment}, sealed ${result.sealedAt})\n${entry}\n`,
      );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof AuditlockError && !(err instanceof UsageError))
      return fail(err.code, err.message);
    throw err;
  }
}
