import { writeKeyPair } from '../../adapters/keys.js';
import { assertOrigin } from '../../core/checkpoint.js';
import { type CommandSpec, parseCommand, stringOption } from '../args.js';
import { UsageError } from '../cli-error.js';
import { escapeText, type Io } from '../output.js';

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
  const name = stringOption(p, 'name') as string;
  // The key name is the origin the log signs under: the one origin rule, before any file exists.
  assertOrigin(name);
  const written = await writeKeyPair(out, { name });
  io.stdout.write(
    `private key: ${escapeText(written.privateKeyPath)}\npublic key:  ${escapeText(written.publicKeyPath)}\nvkey:        ${written.vkey}\n`,
  );
  return 0;
}
