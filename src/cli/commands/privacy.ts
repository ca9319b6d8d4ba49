/**
 * Commands for sealed fields (docs/FORMAT.md §11, docs/PRIVACY.md): `keys-init` creates a key
 * store, `erase-subject` destroys a subject's key and records the erasure, `disclose` writes a
 * disclosure of sealed values for a receipt.
 */
import { writeFile } from 'node:fs/promises';
import { LocalKeyWrapper } from '../../adapters/local-key-wrapper.js';
import { systemClock } from '../../adapters/system-clock.js';
import { Archiver } from '../../app/archiver.js';
import { eraseSubject } from '../../app/erase-subject.js';
import { openSealedEntry } from '../../app/open-sealed.js';
import { verifyReceipt } from '../../app/receipt.js';
import { SubjectKeys } from '../../app/subject-keys.js';
import { type Disclosed, formatDisclosure } from '../../core/disclosure.js';
import { InputError } from '../../core/errors.js';
import { assertLogName } from '../../core/layout.js';
import { valueAt } from '../../core/sealed-path.js';
import { type CommandSpec, intOption, listOption, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { checkOutputPath, readInputFile } from '../input-file.js';
import { loadSigner, loadTrustedKeys } from '../keys.js';
import { escapeText, type Io } from '../output.js';
import { KEY_OPTIONS, openKeyStore, openWrapper, subjectKeysOf } from '../sealing.js';
import { openStore } from '../stores.js';

export const keysInitSpec: CommandSpec = {
  name: 'keys-init',
  summary: 'Create a key store for sealed fields (and a local wrapping key file).',
  usage: 'keys-init --keys DIR --wrap-key FILE|kms:KEY [--new-wrap-key]',
  description:
    'Creates DIR (mode 0700; or uses the DynamoDB table of --keys dynamodb:TABLE, which must exist)\n' +
    'and the deployment pseudonym key in it, wrapped by --wrap-key. With\n' +
    '--new-wrap-key, FILE is created first (32 random bytes, base64, mode 0600; never overwritten).\n' +
    'Keep the wrapping key apart from DIR and from the archive: whoever holds both reads every\n' +
    'sealed field. Running it again on an initialised store changes nothing.',
  options: {
    ...KEY_OPTIONS,
    'new-wrap-key': { type: 'boolean', help: 'create the local wrapping key file first' },
  },
  positionals: { min: 0, max: 0 },
};

export async function keysInit(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(keysInitSpec, argv);
  const dir = stringOption(p, 'keys');
  const wrap = stringOption(p, 'wrap-key');
  if (!dir || !wrap) throw new UsageError('keys-init: --keys DIR and --wrap-key are required');
  if (p.values['new-wrap-key'] && wrap.startsWith('kms:'))
    throw new UsageError('keys-init: --new-wrap-key makes a local key file, not a KMS key');
  const wrapper = p.values['new-wrap-key']
    ? await LocalKeyWrapper.createFile(wrap)
    : await openWrapper(wrap);
  const store = await openKeyStore(dir, { create: true });
  await SubjectKeys.open({ store, wrapper, create: true });
  io.stdout.write(
    `key store ${escapeText(dir)} ready, wrapped by ${escapeText(wrapper.description)}\n`,
  );
  return EXIT.ok;
}

export const eraseSubjectSpec: CommandSpec = {
  name: 'erase-subject',
  summary: 'Erase a data subject: destroy its key, record the erasure in the log.',
  usage:
    'erase-subject <store> <subject id> --keys DIR --wrap-key FILE|kms:KEY (--key PEM | --kms-key ID) --requested-by ID --legal-basis TEXT [--reason TEXT] [--log NAME]',
  description:
    "Destroys the subject's data key in the key store, then appends an event\n" +
    '"auditlock.subject.erased" to the log with --requested-by as actor, the legal basis, the\n' +
    "reason, the subject's pseudonym and the key id (never the subject id). Afterwards readers show\n" +
    "the subject's sealed fields as erased; every segment, proof and receipt still verifies.\n" +
    'Exit status: 0 erased and recorded, 2 usage or I/O error, an unknown subject (SUBJECT_UNKNOWN:\n' +
    'nothing destroyed or recorded) or a record that failed after the key was destroyed\n' +
    '(ERASURE_NOT_RECORDED).',
  options: {
    ...KEY_OPTIONS,
    key: { type: 'string', value: 'PEM', help: 'local P-256 private key of the log' },
    'kms-key': { type: 'string', value: 'ID', help: 'AWS KMS signing key of the log' },
    log: {
      type: 'string',
      value: 'NAME',
      help: 'log to record the erasure in',
      default: 'default',
    },
    'requested-by': { type: 'string', value: 'ID', help: 'who asked for the erasure' },
    'legal-basis': {
      type: 'string',
      value: 'TEXT',
      help: 'the legal basis, e.g. "GDPR Art. 17(1)(a)"',
    },
    reason: { type: 'string', value: 'TEXT', help: 'free text (no personal data of the subject)' },
    'retention-days': { type: 'string', value: 'DAYS', help: 'S3 only: COMPLIANCE retention' },
    json: { type: 'boolean', help: 'print the result as JSON' },
  },
  positionals: { min: 2, max: 2 },
};

export async function eraseSubjectCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(eraseSubjectSpec, argv);
  const [storeSpec, subjectId] = p.positionals as [string, string];
  const requestedBy = stringOption(p, 'requested-by');
  const legalBasis = stringOption(p, 'legal-basis');
  if (!requestedBy || !legalBasis)
    throw new UsageError('erase-subject: --requested-by and --legal-basis are required');
  const log = stringOption(p, 'log') as string;
  assertLogName(log);
  const keys = await subjectKeysOf(p, 'erase-subject');
  if (!keys) throw new UsageError('erase-subject: --keys and --wrap-key are required');
  const signer = await loadSigner(stringOption(p, 'key'), stringOption(p, 'kms-key'));
  const retentionDays = intOption(p, 'retention-days', { min: 1 });
  const store = await openStore(storeSpec, { forWriting: true, retentionDays });
  const archiver = await Archiver.open({ store, signer, clock: systemClock, log });
  let erased: Awaited<ReturnType<typeof eraseSubject>>;
  try {
    erased = await eraseSubject({
      keys,
      subjectId,
      requestedBy,
      legalBasis,
      reason: stringOption(p, 'reason'),
      archiver,
      clock: systemClock,
    });
  } finally {
    await archiver.close();
  }
  const result = {
    subject: erased.pseudonym,
    key: erased.keyId,
    erasedAt: erased.erasedAt,
    log,
    index: erased.receipt.index,
    seq: erased.receipt.seq,
  };
  if (p.values.json) io.stdout.write(`${JSON.stringify(result)}\n`);
  else
    io.stdout.write(
      `erased subject ${result.subject} (key ${result.key}) at ${result.erasedAt}; recorded in log ${log} at index ${result.index} (segment ${result.seq})\n`,
    );
  return EXIT.ok;
}

export const discloseSpec: CommandSpec = {
  name: 'disclose',
  summary: "Write a disclosure of sealed values of a receipt's entry (value and salt per field).",
  usage:
    'disclose <receipt file> --field PATH... --keys DIR --wrap-key FILE|kms:KEY (--pubkey PEM... | --trusted-keys FILE) --out FILE',
  description:
    'Verifies the receipt, opens the named sealed fields of its entry with the key store, and\n' +
    'writes their values and salts (FORMAT.md §11.7). An auditor checks them with\n' +
    '`verify-receipt <receipt> --disclosure FILE`, offline and without keys; no other field is\n' +
    'revealed. A field that is erased cannot be disclosed (exit 2, FIELD_NOT_OPEN).',
  options: {
    ...KEY_OPTIONS,
    field: { type: 'string', multiple: true, value: 'PATH', help: 'sealed field to disclose' },
    pubkey: { type: 'string', multiple: true, value: 'PEM', help: 'trusted public key of the log' },
    'trusted-keys': { type: 'string', value: 'FILE', help: 'JSON file of trusted keys' },
    out: { type: 'string', value: 'FILE', help: 'where to write the disclosure' },
  },
  positionals: { min: 1, max: 1 },
};

export async function disclose(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(discloseSpec, argv);
  const fields = listOption(p, 'field');
  const out = stringOption(p, 'out');
  if (fields.length === 0 || !out) throw new UsageError('disclose: --field and --out are required');
  await checkOutputPath(out);
  const keys = await subjectKeysOf(p, 'disclose');
  if (!keys) throw new UsageError('disclose: --keys and --wrap-key are required');
  const trustedKeys = await loadTrustedKeys(
    listOption(p, 'pubkey'),
    stringOption(p, 'trusted-keys'),
  );
  const text = await readInputFile(p.positionals[0] as string, 'PROOF', 1024 * 1024);
  const v = verifyReceipt(text, { trustedKeys });
  if (v.entry.kind !== 'sealed-event')
    throw new InputError('FIELD_NOT_OPEN', `entry ${v.index} has no sealed fields`);
  const opened = await openSealedEntry(v.entry, v.origin, keys);
  const items: Disclosed[] = fields.map((field) => {
    const state = opened.fields.find((f) => f.field === field)?.state;
    const salt = opened.salts.get(field);
    if (state !== 'open' || !salt)
      throw new InputError(
        'FIELD_NOT_OPEN',
        `entry ${v.index}: field ${JSON.stringify(field)} is ${state ?? 'not sealed in it'}`,
      );
    return { field, salt, value: valueAt(opened.event, field) as Disclosed['value'] };
  });
  await writeFile(out, formatDisclosure(items), { mode: 0o600 });
  io.stderr.write(
    `disclosure of ${fields.join(', ')} of entry ${v.index} written to ${escapeText(out)}\n`,
  );
  return EXIT.ok;
}
