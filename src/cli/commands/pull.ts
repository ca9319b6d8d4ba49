import { type PullSelection, pullBundle } from '../../app/pull.js';
import { verifyStore } from '../../app/verify.js';
import { parseTimestamp } from '../../core/timestamp.js';
import { type CommandSpec, intOption, listOption, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { loadTrustOptions, TRUST_OPTIONS } from '../keys.js';
import { escapeText, formatBytes, type Io, progress } from '../output.js';
import { openStore } from '../stores.js';

export const pullSpec: CommandSpec = {
  name: 'pull',
  summary: 'Copy a range of a store into a self-contained evidence bundle that verifies offline.',
  usage:
    'pull <store> --out DIR --pubkey PEM [--from-seq N] [--to-seq N | --from T --to T] [options]',
  description:
    'Copies segments byte for byte, the cosigned checkpoints of the range, and bundle.json (format 2:\n' +
    'per segment its hash and what S3 reported: version id, retention, checksum). --from-seq/--to-seq\n' +
    'select segment numbers, both inclusive. --from/--to (RFC 3339, e.g. 2026-11-26T08:00:00Z) select\n' +
    'by receive time, inclusive start and exclusive end: every segment holding an entry received in\n' +
    '[from, to), found in O(log n) reads (docs/FORMAT.md §7.1). Rerun with the same --out to resume:\n' +
    'segments already there and checked are not downloaded again. The bundle is verified at the end\n' +
    '(verify <DIR> --bundle does the same offline). Exit status: 0 pulled and verified, 1 findings,\n' +
    '3 nothing in the range, 2 usage or I/O error.',
  options: {
    out: { type: 'string', value: 'DIR', help: 'bundle folder (created; rerun to resume)' },
    ...TRUST_OPTIONS,
    log: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      help: 'pull only this log; repeatable (default: all logs)',
    },
    'from-seq': { type: 'string', value: 'N', help: 'first segment number (inclusive)' },
    'to-seq': { type: 'string', value: 'N', help: 'last segment number (inclusive)' },
    from: { type: 'string', value: 'TIME', help: 'RFC 3339: first receive time (inclusive)' },
    to: { type: 'string', value: 'TIME', help: 'RFC 3339: end receive time (exclusive)' },
    concurrency: { type: 'string', value: 'N', help: 'parallel downloads', default: '8' },
    json: { type: 'boolean', help: 'print the result as JSON on stdout' },
  },
  positionals: { min: 1, max: 1 },
};

/** Exit status when nothing is in the range (not an error, not a finding). */
export const EXIT_NOTHING_SELECTED = 3;

export async function pull(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(pullSpec, argv);
  const out = stringOption(p, 'out');
  if (!out) throw new UsageError('pull: --out DIR is required');
  const selection = selectionOf(p);
  const trustedKeys = await loadTrustOptions(p);
  const source = await openStore(p.positionals[0] as string);
  const logs = listOption(p, 'log');
  const bar = progress(io);
  const started = Date.now();
  let result: Awaited<ReturnType<typeof pullBundle>>;
  try {
    result = await pullBundle({
      source,
      out,
      trustedKeys,
      logs: logs.length ? logs : undefined,
      selection,
      concurrency: intOption(p, 'concurrency', { min: 1, max: 256 }),
      onUntrusted: (log, seq, err) =>
        io.stderr.write(
          `${escapeText(`warning: log ${log} segment ${seq} is not trusted (${err.code}); the range was widened around it`)}\n`,
        ),
      onProgress: ({ total, done, skipped, bytes }) => {
        const secs = (Date.now() - started) / 1000;
        const rate = secs > 0 ? bytes / secs : 0;
        const perSeg = done > skipped && secs > 0 ? secs / (done - skipped) : 0;
        const eta = perSeg > 0 ? Math.round((total - done) * perSeg) : undefined;
        bar.update(
          `pulled ${done}/${total} segments${skipped ? ` (${skipped} already there)` : ''}, ${formatBytes(bytes)}, ${formatBytes(Math.round(rate))}/s${eta !== undefined ? `, ETA ${eta}s` : ''}`,
        );
      },
    });
  } finally {
    bar.done();
  }
  if (result.pulled === 0) {
    const why = result.logs.length === 0 ? 'the store holds no log' : 'no segment is in the range';
    io.stderr.write(
      `${escapeText(`nothing pulled from ${source.location}: ${why}${describeSelection(selection)}`)}\n`,
    );
    for (const l of result.logs)
      io.stderr.write(
        `${escapeText(`log ${l.log}: ${l.stored ? `holds segments ${l.stored.firstSeq}..${l.stored.headSeq}` : 'no segments'}`)}\n`,
      );
    if (p.values.json)
      io.stdout.write(`${JSON.stringify({ ok: false, pulled: 0, logs: result.logs }, null, 2)}\n`);
    return EXIT_NOTHING_SELECTED;
  }
  const bundle = await openStore(out);
  const wanted = result.logs.filter((l) => l.firstSeq <= l.lastSeq).map((l) => l.log);
  const findings: unknown[] = [];
  const verified = await verifyStore(bundle, {
    trustedKeys,
    bundle: true,
    logs: wanted,
    onFinding: (f) => {
      findings.push(f);
      if (!p.values.json)
        io.stderr.write(
          `${escapeText(`${f.code} [${f.log ?? 'store'}${f.seq !== undefined ? `, segment ${f.seq}` : ''}]: ${f.detail}`)}\n`,
        );
    },
  });
  if (p.values.json) {
    io.stdout.write(
      `${JSON.stringify({ ok: verified.ok, out: bundle.location, source: source.location, logs: result.logs, findings }, null, 2)}\n`,
    );
  } else {
    for (const l of result.logs) {
      const line =
        l.firstSeq <= l.lastSeq
          ? `log ${l.log}: segments ${l.firstSeq}..${l.lastSeq} (${l.downloaded} downloaded, ${l.skipped} already there, ${formatBytes(l.bytes)}), ${l.witness} cosigned checkpoint(s)`
          : `log ${l.log}: nothing in the range`;
      io.stdout.write(`${escapeText(line)}\n`);
    }
    io.stdout.write(
      verified.ok
        ? `OK: bundle ${escapeText(bundle.location)} written and verified (verify it offline with: auditlock verify <DIR> --bundle --pubkey …)\n`
        : `FAILED: bundle ${escapeText(bundle.location)} written; ${verified.findings} finding(s)\n`,
    );
  }
  return verified.ok ? EXIT.ok : EXIT.findings;
}

function selectionOf(p: ReturnType<typeof parseCommand>): PullSelection {
  const fromSeq = intOption(p, 'from-seq');
  const toSeq = intOption(p, 'to-seq');
  const from = stringOption(p, 'from');
  const to = stringOption(p, 'to');
  if ((fromSeq !== undefined || toSeq !== undefined) && (from !== undefined || to !== undefined))
    throw new UsageError(
      'pull: give a sequence range (--from-seq/--to-seq) or a time range (--from/--to), not both',
    );
  if (fromSeq !== undefined && toSeq !== undefined && toSeq < fromSeq)
    throw new UsageError(`pull: --to-seq ${toSeq} is before --from-seq ${fromSeq}`);
  if (from === undefined && to === undefined) return { by: 'seq', fromSeq, toSeq };
  const fromMs = from === undefined ? undefined : timeOption('from', from);
  const toMs = to === undefined ? undefined : timeOption('to', to);
  return { by: 'time', fromMs, toMs };
}

/** RFC 3339 with an explicit offset (Z or ±hh:mm), seconds required, fraction optional. */
function timeOption(name: string, text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/.exec(
    text,
  );
  const ms = m ? Date.parse(text) : Number.NaN;
  if (!m || Number.isNaN(ms))
    throw new UsageError(
      `--${name} must be an RFC 3339 time such as 2026-11-26T08:00:00Z, got ${JSON.stringify(text)}`,
    );
  // A real calendar date: the UTC form of the date part parses back to itself.
  const day = `${m[1]}T00:00:00.000Z`;
  try {
    parseTimestamp(day);
  } catch {
    throw new UsageError(`--${name}: ${JSON.stringify(text)} is not a real calendar date`);
  }
  return ms;
}

function describeSelection(s: PullSelection): string {
  if (s.by === 'seq')
    return s.fromSeq === undefined && s.toSeq === undefined
      ? ''
      : ` (segments ${s.fromSeq ?? 0}..${s.toSeq ?? 'head'})`;
  const t = (ms: number | undefined) => (ms === undefined ? '…' : new Date(ms).toISOString());
  return ` (received in [${t(s.fromMs)}, ${t(s.toMs)}))`;
}
