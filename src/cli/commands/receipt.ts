import { readFile } from 'node:fs/promises';
import { makeReceipt, verifyReceipt } from '../../app/receipt.js';
import type { CosignerKey } from '../../core/cosignature.js';
import { verifyDisclosure } from '../../core/disclosure.js';
import { AuditlockError } from '../../core/errors.js';
import { type CommandSpec, intOption, type Parsed, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { checkOutputPath, readInputFile, writeOutputFile } from '../input-file.js';
import { loadTrustOptions, TRUST_OPTIONS } from '../keys.js';
import { escapeText, type Io } from '../output.js';
import { openStore } from '../stores.js';
import { readWitnessFlags, WITNESS_OPTIONS } from '../verify-flags.js';

/**
 * Largest receipt file read: an entry (at most 260 KiB, as base64), 64 hashes and a signed
 * checkpoint with 16 signature lines fit many times over.
 */
const MAX_RECEIPT_FILE_BYTES = 4 * 1024 * 1024;

const keyOptions = {
  ...TRUST_OPTIONS,
  'witness-key': WITNESS_OPTIONS['witness-key'],
  witnesses: WITNESS_OPTIONS.witnesses,
};

export const receiptSpec: CommandSpec = {
  name: 'receipt',
  summary: 'Write a self-contained receipt (C2SP tlog-proof) for one event, by id or leaf index.',
  usage:
    'receipt <store|bundle> <id|index> (--pubkey PEM... | --trusted-keys FILE) [--witness-key VKEY...] [--log NAME] [--out FILE]',
  description:
    'The receipt holds the entry, its inclusion proof and the signed checkpoint it is proved\n' +
    'against; `auditlock verify-receipt` checks it offline. With --witness-key the checkpoint is\n' +
    'the first one at or after the entry that K trusted witnesses cosigned (their cosignature\n' +
    "lines included), else the entry segment's own. A purely numeric argument is a leaf index\n" +
    '(O(log n) segment reads); an event id is found by reading every segment once (one GET each\n' +
    'on S3, local reads in a bundle), and only segments that may hold it are checked. Only trusted\n' +
    'segments and cosignatures that verify go into a receipt. docs/FORMAT.md §6.1.',
  options: {
    ...keyOptions,
    log: { type: 'string', value: 'NAME', help: 'log name', default: 'default' },
    id: { type: 'boolean', help: 'treat the argument as an event id even if numeric' },
    out: { type: 'string', value: 'FILE', help: 'write the receipt here (default: stdout)' },
    concurrency: {
      type: 'string',
      value: 'N',
      help: 'segment reads in flight while searching for an id',
      default: '8',
    },
  },
  positionals: { min: 2, max: 2 },
};

export const verifyReceiptSpec: CommandSpec = {
  name: 'verify-receipt',
  summary: 'Verify a receipt offline: log signature, witness cosignatures, inclusion, the event.',
  usage:
    'verify-receipt <receipt file> (--pubkey PEM... | --trusted-keys FILE) [--witness-key VKEY... [--witnesses K]] [--origin ORIGIN] [--json]',
  description:
    'Prints the event. Signature lines from keys not given are ignored and counted. Exit status:\n' +
    '0 valid, 1 invalid (the code says what is wrong), 2 usage or I/O error.',
  options: {
    ...keyOptions,
    origin: { type: 'string', value: 'ORIGIN', help: 'require this checkpoint origin' },
    disclosure: {
      type: 'string',
      value: 'FILE',
      help: 'also check sealed values disclosed for the entry (FORMAT.md §11.7)',
    },
    json: { type: 'boolean', help: 'print the result as JSON' },
  },
  positionals: { min: 1, max: 1 },
};

/** The witness keys and, with keys, the quorum (`--witnesses`, default 1). */
async function witnessOptions(
  p: Parsed,
): Promise<{ witnessKeys: readonly CosignerKey[]; quorum: number | undefined }> {
  const { keys, quorum } = await readWitnessFlags(p);
  return { witnessKeys: keys, quorum: keys.length > 0 ? quorum : undefined };
}

export async function receipt(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(receiptSpec, argv);
  const [storeSpec, what] = p.positionals as [string, string];
  const trustedKeys = await loadTrustOptions(p);
  const { witnessKeys, quorum } = await witnessOptions(p);
  const concurrency = intOption(p, 'concurrency', { min: 1, max: 64 }) ?? 8;
  const out = stringOption(p, 'out');
  if (out) await checkOutputPath(out);
  const store = await openStore(storeSpec);
  const target =
    /^(0|[1-9][0-9]*)$/.test(what) && !p.values.id ? { index: Number(what) } : { id: what };
  const r = await makeReceipt(store, stringOption(p, 'log') as string, target, {
    trustedKeys,
    witnessKeys,
    quorum,
    concurrency,
  });
  for (const why of r.notUsed) io.stderr.write(`note: not used: ${escapeText(why)}\n`);
  if (witnessKeys.length > 0 && r.witnesses.length === 0)
    io.stderr.write(
      `warning: no checkpoint at or after segment ${r.seq} is cosigned by ${quorum ?? 1} trusted witness(es): the receipt carries segment ${r.seq}'s checkpoint without cosignatures\n`,
    );
  const witnessed =
    r.witnesses.length > 0 ? `, cosigned by ${r.witnesses.map((w) => w.name).join(', ')}` : '';
  const summary = `entry ${r.index} (segment ${r.seq}) proved at tree size ${r.treeSize} (segment ${r.checkpointSeq}${witnessed}); ${r.scanned} segment(s) scanned, ${r.trustedReads} checked`;
  if (out) {
    await writeOutputFile(out, r.text);
    io.stderr.write(`${escapeText(summary)}: receipt written to ${escapeText(out)}\n`);
  } else io.stdout.write(r.text);
  return EXIT.ok;
}

export async function verifyReceiptCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(verifyReceiptSpec, argv);
  const trustedKeys = await loadTrustOptions(p);
  const { witnessKeys, quorum } = await witnessOptions(p);
  const text = await readInputFile(p.positionals[0] as string, 'PROOF', MAX_RECEIPT_FILE_BYTES);
  try {
    const v = verifyReceipt(text, {
      trustedKeys,
      witnessKeys,
      quorum,
      origin: stringOption(p, 'origin'),
    });
    const disclosureFile = stringOption(p, 'disclosure');
    const disclosed = disclosureFile
      ? verifyDisclosure(v.entry, await readFile(disclosureFile, 'utf8'))
      : undefined;
    if (p.values.json) {
      const { entryText: _, ...rest } = v;
      io.stdout.write(
        `${JSON.stringify({ valid: true, ...rest, ...(disclosed ? { disclosed } : {}) })}\n`,
      );
    } else {
      const by = v.witnesses.map(
        (w) => `${w.name} at ${new Date(w.timestamp * 1000).toISOString()}`,
      );
      io.stdout.write(
        `VALID: entry ${v.index} is in ${escapeText(v.origin)} at tree size ${v.treeSize} (segment ${v.checkpointSeq}, sealed ${v.sealedAt})` +
          `${by.length > 0 ? `; cosigned by ${escapeText(by.join(', '))}` : '; no witness cosignature checked'}` +
          `${v.unchecked > 0 ? `; ${v.unchecked} signature line(s) from keys not given, not checked` : ''}\n` +
          `${escapeText(v.entryText)}\n`,
      );
      for (const d of disclosed ?? [])
        io.stdout.write(
          `disclosed ${escapeText(d.field)} = ${escapeText(JSON.stringify(d.value))} (matches its commitment)\n`,
        );
    }
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof AuditlockError) || err instanceof UsageError) throw err;
    if (p.values.json)
      io.stdout.write(`${JSON.stringify({ valid: false, code: err.code, detail: err.message })}\n`);
    else io.stderr.write(`INVALID: ${err.code}: ${escapeText(err.message)}\n`);
    return EXIT.findings;
  }
}
