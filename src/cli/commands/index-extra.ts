/**
 * Commands for the AWS deployment and the witness; their code (and the AWS SDK) loads only when
 * they run.
 */
import type { CommandSpec } from '../args.js';
import type { Io } from '../output.js';
import { bootstrapSpec, pubkeySpec } from './aws-specs.js';
import { witnessSpec } from './witness-specs.js';

export const extraCommands: {
  spec: CommandSpec;
  run: (argv: string[], io: Io) => Promise<number>;
}[] = [
  { spec: bootstrapSpec, run: async (argv, io) => (await import('./aws.js')).bootstrap(argv, io) },
  { spec: pubkeySpec, run: async (argv, io) => (await import('./aws.js')).pubkey(argv, io) },
  { spec: witnessSpec, run: async (argv, io) => (await import('./witness.js')).witness(argv, io) },
];
