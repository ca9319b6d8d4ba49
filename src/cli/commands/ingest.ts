import { type FileHandle, open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { systemClock } from '../../adapters/system-clock.js';
import { Archiver, type ArchiverOptions, DEFAULTS } from '../../app/archiver.js';
import { eventParsePool } from '../../app/event-parse-pool.js';
import { ingestJsonLines } from '../../app/ingest.js';
import { BODY_ENCODINGS, type BodyEncoding } from '../../core/body-codec.js';
import { assertOrigin } from '../../core/checkpoint.js';
import { ConfigurationError, hasCode } from '../../core/errors.js';
import { inputNameOf } from '../../core/input-delivery.js';
import { assertLogName } from '../../core/layout.js';
import {
  type CommandSpec,
  intOption,
  listOption,
  type Parsed,
  parseCommand,
  stringOption,
} from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { FileChunks } from '../file-chunks.js';
import { loadSigner, loadTrustedKeys } from '../keys.js';
import { escapeText, type Io, progress } from '../output.js';
import { KEY_OPTIONS, loadSealConfig, SEAL_OPTION, subjectKeysOf } from '../sealing.js';
import { openStore } from '../stores.js';
import { MAX_WORKERS } from '../verify-flags.js';

export const ingestSpec: CommandSpec = {
  name: 'ingest',
  summary: 'Archive audit events from a JSON Lines file (or stdin) into a store.',
  usage: 'ingest <store> [file|-] (--key PEM | --kms-key ID) [options]',
  description:
    'Each line is one audit event (see docs/FORMAT.md). Valid lines are archived in signed,\n' +
    'hash-chained segments; invalid lines are reported on stderr and in --rejects with their line\n' +
    'number and every problem found, and the exit code is 1. <store> is a folder or s3://bucket/prefix.\n' +
    'With --resume the same command line serves the first run and every rerun after a crash: the\n' +
    'log itself says how far this input got, and the input must begin with exactly those bytes.\n' +
    'Stdin cannot be re-read: --resume on stdin works only if the same bytes are sent again from\n' +
    'the first one (e.g. `cat file |`); a stream that continues where it stopped cannot resume.',
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
    resume: {
      type: 'boolean',
      help: 'continue this input after the last line the log holds of it (exactly once; first run too)',
    },
    'input-name': {
      type: 'string',
      value: 'NAME',
      help: "the input's name in delivery ids (default: the file's base name, or stdin)",
    },
    'trusted-keys': {
      type: 'string',
      value: 'FILE',
      help: 'JSON list of keys whose signed head may be extended (key rotation), besides --key',
    },
    pubkey: {
      type: 'string',
      multiple: true,
      value: 'PEM|VKEY',
      help: 'a public key whose signed head may be extended (repeatable), besides --key',
    },
    workers: {
      type: 'string',
      value: 'N',
      help: 'worker threads that parse and encode events while the main thread seals and stores (default: the number of cores); 0 parses them on the main thread',
    },
    json: { type: 'boolean', help: 'print the summary as JSON on stdout' },
    ...SEAL_OPTION,
    ...KEY_OPTIONS,
  },
  positionals: { min: 1, max: 2 },
};

/** Flags of earlier versions whose resume archived lines twice after a crash. */
const REMOVED_FLAGS = ['--ack-log', '--from-line'];

export async function ingest(argv: string[], io: Io): Promise<number> {
  const removed = argv.find((a) => REMOVED_FLAGS.includes(a.split('=')[0] as string));
  if (removed)
    throw new UsageError(
      `${removed.split('=')[0]} was removed (its resume archived lines twice after a crash): use --resume, which continues from what the log itself holds`,
    );
  const p = parseCommand(ingestSpec, argv);
  const [storeSpec, file = '-'] = p.positionals as [string, string?];
  // Check every option, the key and the input before anything is created on disk or in a bucket.
  const encoding = stringOption(p, 'compress') as BodyEncoding;
  if (!BODY_ENCODINGS.includes(encoding))
    throw new UsageError(`--compress must be one of ${BODY_ENCODINGS.join(', ')}`);
  const log = stringOption(p, 'log') as string;
  assertLogName(log);
  const origin = stringOption(p, 'origin');
  // The one origin rule (the checkpoint parser's): nothing unverifiable is ever signed.
  if (origin !== undefined) assertOrigin(origin);
  const limits = {
    maxEvents: intOption(p, 'max-events', { min: 1, max: 1_000_000 }) as number,
    maxBytes: intOption(p, 'max-bytes', { min: 1024, max: 32 * 1024 * 1024 }) as number,
    maxAgeMs: intOption(p, 'max-age-ms', { min: 1 }) as number,
  };
  const retentionDays = intOption(p, 'retention-days', { min: 1 });
  const workers = intOption(p, 'workers', { min: 0, max: MAX_WORKERS }) ?? availableParallelism();
  const resume = Boolean(p.values.resume);
  const inputName = inputNameOf(
    stringOption(p, 'input-name') ?? (file === '-' ? 'stdin' : basename(file)),
  );
  if (inputName === '') throw new UsageError('--input-name must not be empty');
  const signer = await loadSigner(stringOption(p, 'key'), stringOption(p, 'kms-key'));
  const pubkeys = listOption(p, 'pubkey');
  const trustFile = stringOption(p, 'trusted-keys');
  const trustedKeys =
    pubkeys.length > 0 || trustFile ? await loadTrustedKeys(pubkeys, trustFile) : undefined;
  const sealConfig = await sealConfigOf(p);
  const keys = await subjectKeysOf(p, 'ingest');
  if (sealConfig && !keys) throw new UsageError('ingest: --seal needs --keys and --wrap-key');
  const input = file === '-' ? io.stdin : await openInput(file);
  const rejects = await openRejects(stringOption(p, 'rejects'));
  try {
    const store = await openStore(storeSpec, { forWriting: true, retentionDays });
    const bar = progress(io);
    let stored = 0;
    const options: ArchiverOptions = {
      store,
      signer,
      clock: systemClock,
      log,
      origin,
      encoding,
      ...limits,
      ...(trustedKeys ? { trustedKeys } : {}),
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
    if (archiver.keyChange) io.stderr.write(`warning: ${escapeText(archiver.keyChange.message)}\n`);
    const resumeAt = resume
      ? await (await import('../../app/resume.js')).findResumePoint({
          store,
          log,
          headSeq: archiver.head.nextSeq - 1,
          trustedKeys: archiver.trustedKeys,
          inputName,
        })
      : undefined;
    // Ctrl-C / SIGTERM: stop reading, store what was read, report, exit 1.
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    const stopSignals = ['SIGINT', 'SIGTERM'] as const;
    for (const sig of stopSignals) process.once(sig, onSignal);
    let result: Awaited<ReturnType<typeof ingestJsonLines>>;
    // Its threads start only once the input fills a batch (ingest.ts).
    const parsePool = workers > 0 ? eventParsePool(workers) : undefined;
    try {
      result = await ingestJsonLines({
        archiver,
        input: abortable(input, stop.signal),
        inputName,
        resume: resumeAt,
        signal: stop.signal,
        parsePool,
        quarantine: Boolean(p.values.quarantine),
        // Its modules (the entry and sealed-field schemas) load only for --seal.
        seal:
          sealConfig && keys
            ? (await import('../../app/seal-submit.js')).sealingSubmit(archiver, sealConfig, keys)
            : undefined,
        onReject: ({ line, error, raw }) => {
          const issues = error.issues.length
            ? error.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')
            : error.message;
          io.stderr.write(`line ${line}: ${error.code}: ${escapeText(issues)}\n`);
          rejects?.write({
            line,
            code: error.code,
            issues: error.issues,
            message: error.message,
            raw,
          });
        },
      });
    } finally {
      for (const sig of stopSignals) process.removeListener(sig, onSignal);
      await parsePool?.close();
      await archiver.close();
    }
    await rejects?.close();
    bar.done();
    const head = archiver.head;
    const { interrupted } = result;
    const summary = {
      store: store.location,
      log,
      origin: head.origin,
      input: inputName,
      lines: result.lines,
      skipped: result.skipped,
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
        `archived ${result.archived} events${result.quarantined ? ` and ${result.quarantined} quarantined lines` : ''} into ${escapeText(store.location)} log ${log}; ` +
          `tree size ${summary.treeSize}, ${summary.segments} segments${result.skipped ? `; lines 1-${result.skipped} were already archived` : ''}${result.rejected ? `; ${result.rejected} lines rejected` : ''}${interrupted ? ' (interrupted)' : ''}\n`,
      );
    return result.rejected > 0 || interrupted ? EXIT.findings : EXIT.ok;
  } finally {
    await rejects?.close().catch(() => undefined);
    if (input !== io.stdin) (input as { destroy?: () => void }).destroy?.();
  }
}

/** The sealing configuration of `--seal`, checked against `--quarantine`. */
async function sealConfigOf(p: Parsed) {
  const path = stringOption(p, 'seal');
  if (path === undefined) return undefined;
  if (p.values.quarantine)
    throw new UsageError(
      'ingest: --quarantine keeps rejected lines as read, personal fields in clear: not with --seal',
    );
  return loadSealConfig(path);
}

/** Most bytes read from the input at a time. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Opens the input file for reading in large chunks: a regular file into one reused buffer
 * (FileChunks), anything else (a pipe, a device) as a stream.
 * @throws ConfigurationError `INPUT_NOT_FOUND`, `INPUT_NOT_A_FILE`, `INPUT_UNREADABLE`
 */
async function openInput(file: string): Promise<NodeJS.ReadableStream | FileChunks> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new ConfigurationError(
      code === 'ENOENT' ? 'INPUT_NOT_FOUND' : 'INPUT_UNREADABLE',
      `cannot read input file ${file} (${code ?? 'error'})`,
      { cause },
    );
  }
  const stats = await handle.stat();
  if (stats.isDirectory()) {
    await handle.close();
    throw new ConfigurationError('INPUT_NOT_A_FILE', `input ${file} is a folder, not a file`);
  }
  if (stats.isFile()) return new FileChunks(handle, READ_CHUNK_BYTES);
  return handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
}

/**
 * The input, ended early when `signal` fires: a stream as an AbortError, even while a read waits;
 * a regular file before its next read.
 */
function abortable(
  input: NodeJS.ReadableStream | FileChunks,
  signal: AbortSignal,
): AsyncIterable<Uint8Array> {
  if (input instanceof FileChunks) return input.until(signal);
  return addAbortSignal(signal, input as Readable) as AsyncIterable<Uint8Array>;
}

type RejectsFile = { write(record: RejectRecord): void; close(): Promise<void> };
type RejectRecord = {
  line: number;
  code: string;
  issues: readonly unknown[];
  message: string;
  raw: Uint8Array;
};

/** Most bytes of a rejected line repeated in the rejects file, as text. */
const REJECT_TEXT_BYTES = 4096;

/**
 * The `--rejects` file, created (emptied) now so that a bad path fails before any work.
 * @throws ConfigurationError `REJECTS_UNWRITABLE`
 */
async function openRejects(path: string | undefined): Promise<RejectsFile | undefined> {
  if (path === undefined) return undefined;
  const fail = (cause: unknown) =>
    new ConfigurationError(
      'REJECTS_UNWRITABLE',
      `cannot write rejects file ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause },
    );
  let handle: FileHandle;
  try {
    handle = await open(path, 'w');
  } catch (cause) {
    throw fail(cause);
  }
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  let closed = false;
  return {
    write(r) {
      const text = new TextDecoder('utf-8', { fatal: false }).decode(
        r.raw.subarray(0, REJECT_TEXT_BYTES),
      );
      const record = { line: r.line, code: r.code, issues: r.issues, message: r.message, text };
      chain = chain.then(() =>
        handle.write(`${JSON.stringify(record)}\n`).then(
          () => undefined,
          (e) => {
            failure ??= e;
          },
        ),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await chain;
      await handle.close();
      if (failure) throw fail(failure);
    },
  };
}
