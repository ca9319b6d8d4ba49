/** Specs of the AWS commands, kept apart so `--help` and the command list load no AWS SDK. */
import type { CommandSpec } from '../args.js';

export const bootstrapSpec: CommandSpec = {
  name: 'bootstrap',
  summary: 'Create (or check) an Object Lock bucket and a KMS signing key; safe to run again.',
  usage: 'bootstrap --bucket NAME --key-alias ALIAS [--retention-days N] [--region R] [--json]',
  description:
    'Creates the bucket with Object Lock enabled, versioning on and a default COMPLIANCE retention,\n' +
    'blocks public access, and creates an ECC_NIST_P256 SIGN_VERIFY KMS key behind the alias.\n' +
    'Existing resources are checked, never changed. Uses the standard AWS configuration chain\n' +
    '(AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL for LocalStack or an emulator).',
  options: {
    bucket: { type: 'string', value: 'NAME', help: 'archive bucket name' },
    'key-alias': {
      type: 'string',
      value: 'ALIAS',
      help: 'KMS alias, e.g. alias/auditlock-signing',
    },
    'retention-days': {
      type: 'string',
      value: 'N',
      help: 'default COMPLIANCE retention',
      default: '2557',
    },
    region: { type: 'string', value: 'REGION', help: 'AWS region (default: from the environment)' },
    'pubkey-out': { type: 'string', value: 'FILE', help: 'also write the public key PEM here' },
    json: { type: 'boolean', help: 'print the configuration as JSON' },
  },
  positionals: { min: 0, max: 0 },
};

export const pubkeySpec: CommandSpec = {
  name: 'pubkey',
  summary:
    'Export the public key of a KMS signing key as PEM (and a vkey line) for verifiers and auditors.',
  usage: 'pubkey --kms-key ID [--name ORIGIN] [--out FILE]',
  options: {
    'kms-key': { type: 'string', value: 'ID', help: 'KMS key id, alias or ARN' },
    name: {
      type: 'string',
      value: 'ORIGIN',
      help: 'also print a vkey line under this key name (the log origin)',
    },
    out: { type: 'string', value: 'FILE', help: 'write the PEM here instead of stdout' },
  },
  positionals: { min: 0, max: 0 },
};
