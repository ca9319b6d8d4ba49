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
  MIN_RETENTION_OPTION,
  openWitnessCheck,
  REPLICA_OPTIONS,
  readMinRetentionDays,
  readReplicaFlags,
  readWitnessFlags,
  readWorkersFlag,
  WITNESS_OPTIONS,
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
    concurrency: { type: 'string', value: 'N', help: 'parallel downloads', default: '8' },
    workers: WORKERS_OPTION,
    'min-retention-days': MIN_RETENTION_OPTION,
    ...WITNESS_OPTIONS,
    ...REPLICA_OPTIONS,
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
      minRetentionDays: readMinRetentionDays(p),
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
