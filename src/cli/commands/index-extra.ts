/** Commands that need the AWS adapters (bootstrap, pubkey); loaded lazily where they run. */
import type { CommandSpec } from '../args.js';
import type { Io } from '../output.js';

export const extraCommands: {
  spec: CommandSpec;
  run: (argv: string[], io: Io) => Promise<number>;
}[] = [];
