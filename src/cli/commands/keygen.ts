import { writeKeyPair } from '../../adapters/keys.js';
import { type CommandSpec, parseCommand, stringOption } from '../args.js';
import { UsageError } from '../cli-error.js';
import type { Io } from '../output.js';

export const keygenSpec: CommandSpec = {
  name: 'keygen',
  summary: 'Generate an ECDSA P-256 signing key pair as PEM files (and a C2SP vkey line).',
  usage: 'keygen --out DIR [--name NAME]',
  description:
    'Writes DIR/signing-key.pem (private, mode 0600), DIR/signing-key.pub.pem (give this to\nverifiers and auditors) and DIR/signing-key.vkey. Never overwrites an existing key.',
  options: {
    out: { type: 'string', value: 'DIR', help: 'folder to write the key files into' },
    name: {
      type: 'string',
      value: 'NAME',
      help: 'key name for the vkey line (use the log origin)',
      default: 'auditlock.local/default',
    },
  },
  positionals: { min: 0, max: 0 },
};

export async function keygen(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(keygenSpec, argv);
  const out = stringOption(p, 'out');
  if (!out) throw new UsageError('keygen: --out DIR is required');
  const written = await writeKeyPair(out, { name: stringOption(p, 'name') as string });
  io.stdout.write(
    `private key: ${written.privateKeyPath}\npublic key:  ${written.publicKeyPath}\nvkey:        ${written.vkey}\n`,
  );
  return 0;
}
