/**
 * Every command, by name. A command's module (and what it imports: zod, the Parquet writer, the
 * AWS SDK) loads only when that command runs or prints its help, so `auditlock verify` does not
 * pay for the code of `export`. Only the command list (`auditlock --help`) loads them all.
 */
import type { CommandSpec } from '../args.js';
import type { Io } from '../output.js';

export type Command = { spec: CommandSpec; run: (argv: string[], io: Io) => Promise<number> };

/** A command known by its name; `load` imports its module. */
export type LazyCommand = { name: string; load: () => Promise<Command> };

export const commands: LazyCommand[] = [
  {
    name: 'keygen',
    load: async () => {
      const m = await import('./keygen.js');
      return { spec: m.keygenSpec, run: m.keygen };
    },
  },
  {
    name: 'ingest',
    load: async () => {
      const m = await import('./ingest.js');
      return { spec: m.ingestSpec, run: m.ingest };
    },
  },
  {
    name: 'verify',
    load: async () => {
      const m = await import('./verify.js');
      return { spec: m.verifySpec, run: m.verify };
    },
  },
  {
    name: 'prove',
    load: async () => {
      const m = await import('./prove.js');
      return { spec: m.proveSpec, run: m.prove };
    },
  },
  {
    name: 'pull',
    load: async () => {
      const m = await import('./pull.js');
      return { spec: m.pullSpec, run: m.pull };
    },
  },
  {
    name: 'verify-proof',
    load: async () => {
      const m = await import('./verify-proof.js');
      return { spec: m.verifyProofSpec, run: m.verifyProof };
    },
  },
  {
    name: 'report',
    load: async () => {
      const m = await import('./report.js');
      return { spec: m.reportSpec, run: m.report };
    },
  },
  {
    name: 'receipt',
    load: async () => {
      const m = await import('./receipt.js');
      return { spec: m.receiptSpec, run: m.receipt };
    },
  },
  {
    name: 'verify-receipt',
    load: async () => {
      const m = await import('./receipt.js');
      return { spec: m.verifyReceiptSpec, run: m.verifyReceiptCommand };
    },
  },
  {
    name: 'events',
    load: async () => {
      const m = await import('./events.js');
      return { spec: m.eventsSpec, run: m.events };
    },
  },
  {
    name: 'keys-init',
    load: async () => {
      const m = await import('./privacy.js');
      return { spec: m.keysInitSpec, run: m.keysInit };
    },
  },
  {
    name: 'erase-subject',
    load: async () => {
      const m = await import('./privacy.js');
      return { spec: m.eraseSubjectSpec, run: m.eraseSubjectCommand };
    },
  },
  {
    name: 'disclose',
    load: async () => {
      const m = await import('./privacy.js');
      return { spec: m.discloseSpec, run: m.disclose };
    },
  },
  {
    name: 'export',
    load: async () => {
      const m = await import('./export.js');
      return { spec: m.exportSpec, run: m.exportCommand };
    },
  },
  {
    name: 'bootstrap',
    load: async () => ({
      spec: (await import('./aws-specs.js')).bootstrapSpec,
      run: async (argv, io) => (await import('./aws.js')).bootstrap(argv, io),
    }),
  },
  {
    name: 'pubkey',
    load: async () => ({
      spec: (await import('./aws-specs.js')).pubkeySpec,
      run: async (argv, io) => (await import('./aws.js')).pubkey(argv, io),
    }),
  },
  {
    name: 'witness',
    load: async () => ({
      spec: (await import('./witness-specs.js')).witnessSpec,
      run: async (argv, io) => (await import('./witness.js')).witness(argv, io),
    }),
  },
];
