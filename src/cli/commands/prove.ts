import { writeFile } from 'node:fs/promises';
import { proveEntry } from '../../app/prove.js';
import { type CommandSpec, parseCommand, stringOption } from '../args.js';
import { EXIT } from '../cli-error.js';
import { loadTrustOptions, TRUST_OPTIONS } from '../keys.js';
import type { Io } from '../output.js';
import { openStore } from '../stores.js';

export const proveSpec: CommandSpec = {
  name: 'prove',
  summary: 'Write an inclusion proof (C2SP tlog-proof) for one entry, by leaf index or event id.',
  usage:
    'prove <store> <index|id> (--pubkey PEM... | --trusted-keys FILE) [--log NAME] [--out FILE]',
  description:
    'The proof holds the entry itself, the Merkle path and the signed checkpoint of its segment;\n' +
    '`auditlock verify-proof` checks it offline with only the public key. A purely numeric\n' +
    'argument is a leaf index; use --id for an event id that looks like a number.\n' +
    'Every segment read is checked first (one version, signed by a trusted key, hashes and root):\n' +
    'a proof is never built against a checkpoint that no trusted key signed, so a trusted key is\n' +
    'required. An event id stored more than once is refused (ENTRY_AMBIGUOUS, listing the leaf\n' +
    'indexes): prove one of them by its index.',
  options: {
    ...TRUST_OPTIONS,
    log: { type: 'string', value: 'NAME', help: 'log name', default: 'default' },
    id: { type: 'boolean', help: 'treat the argument as an event id even if numeric' },
    out: { type: 'string', value: 'FILE', help: 'write the proof here (default: stdout)' },
  },
  positionals: { min: 2, max: 2 },
};

export async function prove(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(proveSpec, argv);
  const [storeSpec, what] = p.positionals as [string, string];
  const trustedKeys = await loadTrustOptions(p);
  const store = await openStore(storeSpec);
  const target =
    /^(0|[1-9][0-9]*)$/.test(what) && !p.values.id ? { index: Number(what) } : { id: what };
  const proven = await proveEntry(store, stringOption(p, 'log') as string, target, {
    trustedKeys,
  });
  const out = stringOption(p, 'out');
  if (out) {
    await writeFile(out, proven.proof);
    io.stderr.write(
      `entry ${proven.index} (segment ${proven.seq}, tree size ${proven.treeSize}): proof written to ${out}\n`,
    );
  } else io.stdout.write(proven.proof);
  return EXIT.ok;
}
