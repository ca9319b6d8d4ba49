import { systemClock } from '../../adapters/system-clock.js';
import { buildReport } from '../../app/report.js';
import { type CommandSpec, intOption, listOption, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { renderReportHtml } from '../html-report.js';
import { checkOutputPath, writeOutputFile } from '../input-file.js';
import { loadTrustOptions, TRUST_OPTIONS } from '../keys.js';
import { escapeText, formatBytes, type Io, progress } from '../output.js';
import { openStore } from '../stores.js';
import {
  openWitnessCheck,
  readReplicaFlags,
  readWitnessFlags,
  readWorkersFlag,
  WORKERS_OPTION,
} from '../verify-flags.js';

export const reportSpec: CommandSpec = {
  name: 'report',
  summary: 'Verify a store or evidence bundle and write what was found as one HTML page.',
  usage: 'report <store|bundle> --pubkey PEM --html FILE [options]',
  description:
    'Runs the same verification as verify (same findings, same exit status) and writes a single\n' +
    'self-contained HTML file: the verdict first, then each log, a timeline of segments and\n' +
    'entries per UTC day, the findings grouped by code with where they are and what they mean, the\n' +
    'keys that signed and their validity windows, the retention horizon, and the witnesses and\n' +
    'replica when given. The page loads nothing and runs no script. Exit status: 0 clean,\n' +
    '1 findings, 2 usage or I/O error.',
  options: {
    ...TRUST_OPTIONS,
    html: { type: 'string', value: 'FILE', help: 'write the report here (required)' },
    bundle: {
      type: 'boolean',
      help: 'the folder is an evidence bundle: read bundle.json for where each log starts',
    },
    log: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      help: 'report only this log; repeatable (default: all logs)',
    },
    'min-retention-days': {
      type: 'string',
      value: 'DAYS',
      help: 'S3: each segment must be locked (COMPLIANCE) at least this long after its seal time',
      default: '0',
    },
    'witness-key': {
      type: 'string',
      multiple: true,
      value: 'VKEY',
      help: 'trusted witness key (vkey, file or text); repeatable',
    },
    witnesses: {
      type: 'string',
      value: 'K',
      help: 'with --witness-key: a checkpoint counts when K distinct trusted witnesses cosigned it',
      default: '1',
    },
    cosignatures: {
      type: 'string',
      multiple: true,
      value: 'STORE',
      help: 'with --witness-key: also read <log>/witness/ cosigned checkpoints from this store',
    },
    replica: {
      type: 'string',
      value: 'STORE',
      help: 'also verify this replica and compare it with the store object by object',
    },
    'rtc-window': {
      type: 'string',
      value: 'SECONDS',
      help: 'with --replica: how long a replica may be pending before it is REPLICA_LAG',
      default: '900',
    },
    concurrency: { type: 'string', value: 'N', help: 'parallel downloads', default: '8' },
    workers: WORKERS_OPTION,
  },
  positionals: { min: 1, max: 1 },
};

export async function report(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(reportSpec, argv);
  const out = stringOption(p, 'html');
  if (!out) throw new UsageError('report: --html FILE is required');
  const { replica: replicaSpec, rtcWindowMs } = readReplicaFlags(p);
  const trustedKeys = await loadTrustOptions(p);
  const witnessFlags = await readWitnessFlags(p);
  const workers = readWorkersFlag(p);
  await checkOutputPath(out); // before the work, not after it
  const store = await openStore(p.positionals[0] as string);
  const witness = await openWitnessCheck(witnessFlags);
  const replica = replicaSpec ? await openStore(replicaSpec) : undefined;
  const logs = listOption(p, 'log');
  const bar = progress(io);
  let r: Awaited<ReturnType<typeof buildReport>>;
  try {
    r = await buildReport(store, {
      trustedKeys,
      logs: logs.length ? logs : undefined,
      bundle: Boolean(p.values.bundle),
      concurrency: intOption(p, 'concurrency', { min: 1, max: 256 }),
      workers,
      minRetentionDays: intOption(p, 'min-retention-days', { max: 36_500 }),
      witness,
      replica,
      rtcWindowMs,
      now: () => systemClock.now(),
      onProgress: ({ segments, bytes }) =>
        bar.update(`verified ${segments} segments, ${formatBytes(bytes)}`),
    });
  } finally {
    bar.done();
  }
  await writeOutputFile(out, renderReportHtml(r));
  const where = `${store.location}${replica ? ` and replica ${replica.location}` : ''}`;
  io.stdout.write(
    `${escapeText(r.ok ? `OK: ${where} verified, no findings` : `FAILED: ${r.findings} finding(s) in ${where}`)}; report written to ${escapeText(out)}\n`,
  );
  return r.ok ? EXIT.ok : EXIT.findings;
}
