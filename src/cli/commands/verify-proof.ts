import { readFile } from 'node:fs/promises';
import { parseCheckpoint } from '../../core/checkpoint.js';
import { fromUtf8 } from '../../core/encoding.js';
import { AuditlockError } from '../../core/errors.js';
import { hashLeaf } from '../../core/merkle.js';
import { checkSignature, parseNote } from '../../core/note.js';
import { verifyInclusion } from '../../core/proof-verify.js';
import { parseTlogProof } from '../../core/tlog-proof.js';
import { type CommandSpec, listOption, parseCommand, stringOption } from '../args.js';
import { EXIT } from '../cli-error.js';
import { loadTrustedKeys } from '../keys.js';
import type { Io } from '../output.js';

export const verifyProofSpec: CommandSpec = {
  name: 'verify-proof',
  summary:
    'Verify an inclusion proof offline: signed checkpoint, Merkle path, and the entry it carries.',
  usage: 'verify-proof <proof file> --pubkey PEM [--origin ORIGIN] [--json]',
  description: 'Prints the proven entry. Exit status: 0 valid, 1 invalid, 2 usage or I/O error.',
  options: {
    pubkey: {
      type: 'string',
      multiple: true,
      value: 'PEM',
      help: 'trusted public key (SPKI PEM or vkey); repeatable',
    },
    'trusted-keys': { type: 'string', value: 'FILE', help: 'JSON file of trusted keys' },
    origin: { type: 'string', value: 'ORIGIN', help: 'require this checkpoint origin' },
    json: { type: 'boolean', help: 'print the result as JSON' },
  },
  positionals: { min: 1, max: 1 },
};

export async function verifyProof(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(verifyProofSpec, argv);
  const trusted = await loadTrustedKeys(listOption(p, 'pubkey'), stringOption(p, 'trusted-keys'));
  const text = await readFile(p.positionals[0] as string, 'utf8');
  const fail = (code: string, detail: string) => {
    if (p.values.json) io.stdout.write(`${JSON.stringify({ valid: false, code, detail })}\n`);
    else io.stderr.write(`INVALID: ${code}: ${detail}\n`);
    return EXIT.findings;
  };
  try {
    const proof = parseTlogProof(text);
    const note = parseNote(proof.checkpointNote);
    const cp = parseCheckpoint(note.text);
    const origin = stringOption(p, 'origin');
    if (origin !== undefined && cp.origin !== origin)
      return fail('ORIGIN_MISMATCH', `checkpoint origin is ${cp.origin}`);
    const checks = note.signatures.map((s) => checkSignature(note.text, s, trusted, cp.origin));
    if (checks.some((c) => c.status === 'invalid'))
      return fail('SIGNATURE_INVALID', 'a signature from a trusted key does not verify');
    if (!checks.some((c) => c.status === 'valid'))
      return fail('SIGNATURE_UNTRUSTED', 'the checkpoint is not signed by a trusted key');
    if (!proof.extra) return fail('PROOF_MALFORMED', 'the proof carries no entry (extra line)');
    verifyInclusion(hashLeaf(proof.extra), proof.index, cp.treeSize, proof.hashes, cp.root);
    const entry = fromUtf8(proof.extra);
    const extensions = Object.fromEntries(
      cp.extensions.map((l) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]),
    );
    const result = {
      valid: true,
      origin: cp.origin,
      index: proof.index,
      treeSize: cp.treeSize,
      segment: extensions['auditlock.segment'],
      sealedAt: extensions['auditlock.sealed'],
      entry: JSON.parse(entry),
    };
    if (p.values.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else
      io.stdout.write(
        `VALID: entry ${proof.index} is in ${cp.origin} at tree size ${cp.treeSize} (segment ${result.segment}, sealed ${result.sealedAt})\n${entry}\n`,
      );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof AuditlockError && err.code !== 'USAGE') return fail(err.code, err.message);
    throw err;
  }
}
