import { constants, createReadStream } from 'node:fs';
import { access, appendFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { systemClock } from '../../adapters/system-clock.js';
import { Archiver, type ArchiverOptions, DEFAULTS } from '../../app/archiver.js';
import { ingestJsonLines } from '../../app/ingest.js';
import { BODY_ENCODINGS, type BodyEncoding } from '../../core/body-codec.js';
import { ConfigurationError, hasCode } from '../../core/errors.js';
import { assertLogName } from '../../core/layout.js';
import { type CommandSpec, intOption, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { loadSigner } from '../keys.js';
import { type Io, progress } from '../output.js';
import { openStore } from '../stores.js';

export const ingestSpec: CommandSpec = {
  name: 'ingest',
  summary: 'Archive audit events from a JSON Lines file (or stdin) into a store.',
  usage: 'ingest <store> [file|-] (--key PEM | --kms-key ID) [options]',
  description:
    'Each line is one audit event (see docs/FORMAT.md). Valid lines are archived in signed,\n' +
    'hash-chained segments; invalid lines are reported on stderr and in --rejects with their line\n' +
    'number and every problem found, and the exit code is 1. <store> is a folder or s3://bucket/prefix.',
  options: {
    key: {
      type: 'string',
      value: 'PEM',
      help: 'local P-256 private key (from `auditlock keygen`)',
    },
    'kms-key': {
      type: 'string',
      value: 'ID',
      help: 'AWS KMS key id, alias or ARN (ECC_NIST_P256, SIGN_VERIFY)',
    },
    log: { type: 'string', value: 'NAME', help: 'log name within the store', default: 'default' },
    origin: {
      type: 'string',
      value: 'ORIGIN',
      help: "checkpoint origin of a new log (default: the log's own, or auditlock.local/<log>)",
    },
    'max-events': {
      type: 'string',
      value: 'N',
      help: 'entries per segment at most',
      default: String(DEFAULTS.maxEvents),
    },
    'max-bytes': {
      type: 'string',
      value: 'N',
      help: 'entry bytes per segment at most',
      default: String(DEFAULTS.maxBytes),
    },
    'max-age-ms': {
      type: 'string',
      value: 'MS',
      help: 'seal a partial segment after this long',
      default: String(DEFAULTS.maxAgeMs),
    },
    compress: {
      type: 'string',
      value: 'ENC',
      help: 'segment body encoding: identity or gzip',
      default: 'identity',
    },
    'retention-days': {
      type: 'string',
      value: 'DAYS',
      help: 'S3 only: COMPLIANCE retention per segment',
      default: '2557',
    },
    rejects: {
      type: 'string',
      value: 'FILE',
      help: 'write rejected lines with their errors here (JSON Lines)',
    },
    quarantine: { type: 'boolean', help: 'also archive rejected lines as quarantined entries' },
    'from-line': { type: 'string', value: 'N', help: 'skip lines before N (resume after a crash)' },
    'ack-log': {
      type: 'string',
      value: 'FILE',
      help: 'append {"seq","treeSize","throughLine"} per stored segment',
    },
    json: { type: 'boolean', help: 'print the summary as JSON on stdout' },
  },
  positionals: { min: 1, max: 2 },
};

export async function ingest(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(ingestSpec, argv);
  const [storeSpec, file = '-'] = p.positionals as [string, string?];
  // Check every option and the key before anything is created on disk or in a bucket.
  const encoding = stringOption(p, 'compress') as BodyEncoding;
  if (!BODY_ENCODINGS.includes(encoding))
    throw new UsageError(`--compress must be one of ${BODY_ENCODINGS.join(', ')}`);
  const log = stringOption(p, 'log') as string;
  assertLogName(log);
  const limits = {
    maxEvents: intOption(p, 'max-events', { min: 1, max: 1_000_000 }) as number,
    maxBytes: intOption(p, 'max-bytes', { min: 1024, max: 32 * 1024 * 1024 }) as number,
    maxAgeMs: intOption(p, 'max-age-ms', { min: 1 }) as number,
  };
  const retentionDays = intOption(p, 'retention-days', { min: 1 });
  const fromLine = intOption(p, 'from-line', { min: 1 });
  if (file !== '-')
    await access(file, constants.R_OK).catch((cause) => {
      throw new ConfigurationError('INPUT_NOT_FOUND', `cannot read input file ${file}`, { cause });
    });
  const signer = await loadSigner(stringOption(p, 'key'), stringOption(p, 'kms-key'));
  const store = await openStore(storeSpec, { forWriting: true, retentionDays });
  const rejectsFile = stringOption(p, 'rejects');
  const ackLog = stringOption(p, 'ack-log');
  if (rejectsFile) await writeFile(rejectsFile, '');
  const bar = progress(io);
  let stored = 0;
  const options: ArchiverOptions = {
    store,
    signer,
    clock: systemClock,
    log,
    origin: stringOption(p, 'origin'),
    encoding,
    ...limits,
    onStored: (s) => {
      stored += s.entries;
      bar.update(`stored ${stored} entries in ${s.seq + 1} segments`);
    },
  };
  // A new log without --origin gets a local default; an existing log keeps its own origin.
  const archiver = await Archiver.open(options).catch((err) => {
    if (hasCode(err, 'ORIGIN_REQUIRED') && !options.origin)
      return Archiver.open({ ...options, origin: `auditlock.local/${log}` });
    throw err;
  });
  const input = file === '-' ? io.stdin : createReadStream(file);
  // Ctrl-C / SIGTERM: stop reading, store and acknowledge what was read, report, exit 1.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const stopSignals = ['SIGINT', 'SIGTERM'] as const;
  for (const sig of stopSignals) process.once(sig, onSignal);
  let pendingAck: Promise<void> = Promise.resolve();
  const result = await ingestJsonLines({
    archiver,
    input,
    inputName: file === '-' ? 'stdin' : basename(file),
    fromLine,
    signal: stop.signal,
    quarantine: Boolean(p.values.quarantine),
    onReject: ({ line, error, text }) => {
      const issues = error.issues.length
        ? error.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')
        : error.message;
      io.stderr.write(`line ${line}: ${error.code}: ${issues}\n`);
      if (rejectsFile)
        pendingAck = pendingAck.then(() =>
          appendFile(
            rejectsFile,
            `${JSON.stringify({ line, code: error.code, issues: error.issues, message: error.message, text: text.slice(0, 4096) })}\n`,
          ),
        );
    },
    onAck: ({ throughLine, receipt }) => {
      if (ackLog && receipt.index === receipt.treeSize - 1)
        pendingAck = pendingAck.then(() =>
          appendFile(
            ackLog,
            `${JSON.stringify({ seq: receipt.seq, treeSize: receipt.treeSize, throughLine })}\n`,
          ),
        );
    },
  });
  await pendingAck;
  await archiver.close();
  for (const sig of stopSignals) process.removeListener(sig, onSignal);
  const { interrupted } = result;
  if (interrupted) (input as { destroy?: () => void }).destroy?.();
  bar.done();
  const head = archiver.head;
  const summary = {
    store: store.location,
    log,
    origin: head.origin,
    lines: result.lines,
    archived: result.archived,
    rejected: result.rejected,
    quarantined: result.quarantined,
    treeSize: head.frontier.size,
    segments: head.nextSeq,
    interrupted,
  };
  if (p.values.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else
    io.stdout.write(
      `archived ${result.archived} events${result.quarantined ? ` and ${result.quarantined} quarantined lines` : ''} into ${store.location} log ${log}; ` +
        `tree size ${summary.treeSize}, ${summary.segments} segments${result.rejected ? `; ${result.rejected} lines rejected` : ''}${interrupted ? ' (interrupted)' : ''}\n`,
    );
  return result.rejected > 0 || interrupted ? EXIT.findings : EXIT.ok;
}
