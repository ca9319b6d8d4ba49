/** Flags of `auditlock witness …`, kept apart so the CLI lists them without loading the code. */
import type { CommandSpec } from '../args.js';

const logKeyOptions = {
  pubkey: {
    type: 'string',
    multiple: true,
    value: 'PEM',
    help: "the log's public key (SPKI PEM or vkey, file or text), as for verify; repeatable",
  },
  'trusted-keys': { type: 'string', value: 'FILE', help: 'JSON file of trusted log keys' },
  log: { type: 'string', multiple: true, value: 'NAME', help: 'only this log; repeatable' },
  json: { type: 'boolean', help: 'print the results as JSON on stdout' },
} as const;

const keyOptions = {
  key: { type: 'string', value: 'PEM', help: 'the witness private key (from witness keygen)' },
  name: {
    type: 'string',
    value: 'NAME',
    help: 'witness name (default: from witness-key.vkey beside the PEM)',
  },
} as const;

export const keygenSpec: CommandSpec = {
  name: 'witness keygen',
  summary: 'Generate an Ed25519 witness key.',
  usage: 'witness keygen --out DIR --name NAME',
  options: {
    out: { type: 'string', value: 'DIR', help: 'folder for the key files' },
    name: { type: 'string', value: 'NAME', help: 'witness name, e.g. witness.example.com/w1' },
  },
  positionals: { min: 0, max: 0 },
};

export const serveSpec: CommandSpec = {
  name: 'witness serve',
  summary: 'Serve the tlog-witness endpoint POST /add-checkpoint.',
  usage: 'witness serve --state STORE --key PEM --logs FILE --listen HOST:PORT',
  options: {
    state: { type: 'string', value: 'STORE', help: "the witness's own state store" },
    ...keyOptions,
    logs: {
      type: 'string',
      value: 'FILE',
      help: 'JSON {"logs":[{"origin","key"[,"checkpoint"]}]}',
    },
    listen: { type: 'string', value: 'HOST:PORT', help: 'address', default: '127.0.0.1:8080' },
  },
  positionals: { min: 0, max: 0 },
};

export const submitSpec: CommandSpec = {
  name: 'witness submit',
  summary: "Get each log's head cosigned by a witness and store the cosigned checkpoint.",
  usage: 'witness submit <store> --witness URL --witness-key VKEY --pubkey PEM [--log NAME]',
  options: {
    witness: { type: 'string', value: 'URL', help: "the witness's submission prefix" },
    'witness-key': { type: 'string', value: 'VKEY', help: "the witness's vkey (file or text)" },
    ...logKeyOptions,
  },
  positionals: { min: 1, max: 1 },
};

export const cosignSpec: CommandSpec = {
  name: 'witness cosign',
  summary: 'Verify the store, cosign each clean log head in process, store the cosignature.',
  usage: 'witness cosign <store> --state STORE --key PEM --pubkey PEM [--log NAME]',
  options: {
    state: { type: 'string', value: 'STORE', help: "the witness's own state store" },
    ...keyOptions,
    ...logKeyOptions,
  },
  positionals: { min: 1, max: 1 },
};

const SUBCOMMANDS = [keygenSpec, serveSpec, submitSpec, cosignSpec];

export const witnessSpec: CommandSpec = {
  name: 'witness',
  summary:
    'Witness logs (C2SP tlog-witness) and get logs witnessed: keygen, serve, submit, cosign.',
  usage: 'witness <keygen|serve|submit|cosign> [options]',
  description: SUBCOMMANDS.map(
    (s) =>
      `auditlock ${s.usage}\n  ${s.summary}\n${Object.entries(s.options)
        .map(([k, o]) => `    --${k}${o.type === 'string' ? ` ${o.value ?? ''}` : ''}  ${o.help}`)
        .join('\n')}`,
  ).join('\n\n'),
  options: {},
  positionals: { min: 1, max: 99 },
};
