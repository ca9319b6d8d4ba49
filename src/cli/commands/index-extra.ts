/** Commands for the AWS deployment; their code (and the AWS SDK) loads only when they run. */
import type { CommandSpec } from '../args.js';
import type { Io } from '../output.js';
import { bootstrapSpec, pubkeySpec } from './aws-specs.js';

export const extraCommands: {
  spec: CommandSpec;
  run: (argv: string[], io: Io) => Promise<number>;
}[] = [
  { spec: bootstrapSpec, run: async (argv, io) => (await import('./aws.js')).bootstrap(argv, io) },
  { spec: pubkeySpec, run: async (argv, io) => (await import('./aws.js')).pubkey(argv, io) },
];
