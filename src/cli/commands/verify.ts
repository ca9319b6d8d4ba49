import { systemClock } from '../../adapters/system-clock.js';
import { replicaComparison, verifyWithReplica } from '../../app/replica.js';
import type { SealedCensus } from '../../app/sealed-census.js';
import { type VerifyStoreOptions, type VerifyStoreResult, verifyStore } from '../../app/verify.js';
import type {
  IncrementalLogResult,
  VerifyIncrementalResult,
} from '../../app/verify-incremental.js';
import type { CosignerKey } from '../../core/cosignature.js';
import { AuditlockError, ConfigurationError } from '../../core/errors.js';
import { FINDING_CODES, type Finding } from '../../core/findings.js';
import type { LogSummary } from '../../core/log-verifier.js';
import type { TrustedKey } from '../../core/note.js';
import { evaluateCheckpointNote, type TrustedCheckpoint } from '../../core/signed-checkpoint.js';
import { type CommandSpec, intOption, listOption, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { checkOutputPath, readInputFile, writeOutputFile } from '../input-file.js';
import { loadTrustOptions, TRUST_OPTIONS } from '../keys.js';
import { escapeText, formatBytes, type Io, progress } from '../output.js';
import { KEY_OPTIONS, subjectKeysOf } from '../sealing.js';
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

/** A signed checkpoint is a few hundred bytes (16 signatures at most). */
const MAX_CHECKPOINT_FILE_BYTES = 64 * 1024;

export const verifySpec: CommandSpec = {
  name: 'verify',
  summary:
    'Verify every segment of every log in a store (or evidence bundle) and report every problem.',
  usage: 'verify <store> --pubkey PEM [options]',
  description:
    'Checks structure, signatures, hash chain, sequence numbers, leaf indexes, Merkle roots, receive\n' +
    'and seal times, and unexpected objects. Needs only public keys and read access. An empty store\n' +
    'or log is a finding (LOG_EMPTY) unless --allow-empty. With --witness-key, each log must be at\n' +
    'least as large as, and agree with, every checkpoint a quorum of those witnesses cosigned\n' +
    '(LOG_TRUNCATED, CHECKPOINT_MISMATCH); --consistent-with does the same with the heads of an\n' +
    'earlier bundle. With --replica, the replica is verified too and compared\n' +
    'object by object (REPLICA_* findings). With --state, only segments after the last verified\n' +
    'position are read, and the new position is saved there. The summary names the segment range\n' +
    'verified per log. Exit status: 0 clean, 1 findings, 2 usage or I/O error.',
  options: {
    ...TRUST_OPTIONS,
    log: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      help: 'verify only this log; repeatable (default: all logs)',
    },
    origin: {
      type: 'string',
      value: 'ORIGIN',
      help: 'expected checkpoint origin (default: taken from the first segment)',
    },
    'expect-size': {
      type: 'string',
      value: 'N',
      help: 'the log must hold at least N entries (detects a truncated tail)',
    },
    checkpoint: {
      type: 'string',
      multiple: true,
      value: 'FILE',
      help: 'a signed checkpoint you trust (e.g. from an earlier run); detects truncation and forks',
    },
    'write-checkpoint': {
      type: 'string',
      value: 'FILE',
      help: 'write the newest verified checkpoint here (single log only)',
    },
    bundle: {
      type: 'boolean',
      help: 'the folder is an evidence bundle: read bundle.json for where each log starts',
    },
    'allow-empty': {
      type: 'boolean',
      help: 'a store or requested log without segments is not a finding',
    },
    'strict-entries': {
      type: 'boolean',
      help: 'validate every entry against the full event schema (slower)',
    },
    concurrency: { type: 'string', value: 'N', help: 'parallel downloads', default: '8' },
    workers: WORKERS_OPTION,
    'min-retention-days': MIN_RETENTION_OPTION,
    ...WITNESS_OPTIONS,
    ...REPLICA_OPTIONS,
    'consistent-with': {
      type: 'string',
      multiple: true,
      value: 'BUNDLE',
      help: 'an earlier bundle (or store) of the same logs: it must verify clean, and this one must extend it',
    },
    state: {
      type: 'string',
      value: 'STORE',
      help: 'incremental: go on from this verifier state (never the archive), and save the new one',
    },
    full: {
      type: 'boolean',
      help: 'with --state: verify every log from its first segment (and still save the state)',
    },
    json: { type: 'boolean', help: 'print findings and summary as JSON on stdout' },
    ...KEY_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
};

export async function verify(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(verifySpec, argv);
  const { replica: replicaSpec, rtcWindowMs } = readReplicaFlags(p);
  const stateSpec = stringOption(p, 'state');
  if (p.values.full && !stateSpec) throw new UsageError('--full needs --state');
  const workers = readWorkersFlag(p);
  const trustedKeys = await loadTrustOptions(p);
  const witnessFlags = await readWitnessFlags(p);
  const witnessKeys = witnessFlags.keys;
  const trustedCheckpoints: TrustedCheckpoint[] = [];
  for (const file of listOption(p, 'checkpoint'))
    trustedCheckpoints.push(await loadTrustedCheckpoint(file, trustedKeys, witnessKeys));
  for (const earlier of listOption(p, 'consistent-with'))
    trustedCheckpoints.push(
      ...(await earlierHeads(earlier, trustedKeys, witnessKeys, Boolean(p.values.bundle), workers)),
    );
  const out = stringOption(p, 'write-checkpoint');
  if (out) await checkOutputPath(out); // before the work, not after it
  const store = await openStore(p.positionals[0] as string);
  const witness = await openWitnessCheck(witnessFlags);
  const replica = replicaSpec ? await openStore(replicaSpec) : undefined;
  const stateStore = stateSpec ? await openStore(stateSpec, { forWriting: true }) : undefined;
  const findings: (Finding & { from?: string })[] = [];
  const bar = progress(io);
  const logs = listOption(p, 'log');
  const onFinding = (f: Finding, from?: 'primary' | 'replica' | 'comparison') => {
    const tagged = from === 'replica' || from === 'comparison' ? { ...f, from } : f;
    findings.push(tagged);
    if (!p.values.json) io.stderr.write(`${formatFinding(tagged)}\n`);
  };
  let result: VerifyStoreResult;
  let incremental: VerifyIncrementalResult | undefined;
  let ok: boolean;
  let count: number;
  try {
    const options: VerifyStoreOptions = {
      trustedKeys,
      trustedCheckpoints,
      logs: logs.length ? logs : undefined,
      bundle: Boolean(p.values.bundle),
      allowEmpty: Boolean(p.values['allow-empty']),
      origin: stringOption(p, 'origin'),
      expectSize: intOption(p, 'expect-size'),
      strictEntries: Boolean(p.values['strict-entries']),
      concurrency: intOption(p, 'concurrency', { min: 1, max: 256 }),
      workers,
      minRetentionDays: readMinRetentionDays(p),
      witness,
      onProgress: ({ segments, bytes }) =>
        bar.update(`verified ${segments} segments, ${formatBytes(bytes)}`),
    };
    if (stateStore) {
      // Loaded only with --state, as the census below only with --keys: both reach zod (state
      // records, entries), which a plain run does without (issue 14).
      const { verifyIncremental } = await import('../../app/verify-incremental.js');
      incremental = await verifyIncremental({
        ...options,
        store,
        stateStore,
        clock: systemClock,
        full: Boolean(p.values.full),
        ...(replica
          ? {
              compare: replicaComparison(replica, { now: () => systemClock.now(), rtcWindowMs })
                .comparison,
            }
          : {}),
        onFinding: (f) => onFinding(f, from(f)),
      });
      result = incremental.verify;
      ok = incremental.ok;
      count = findings.length;
    } else if (replica) {
      const r = await verifyWithReplica(store, replica, {
        ...options,
        rtcWindowMs,
        onFinding,
        // The replica may lag within its window; the comparison says so, not its own checks.
        replicaOptions: { expectSize: undefined },
      });
      result = r.primary;
      ok = r.ok;
      count = findings.length;
    } else {
      result = await verifyStore(store, { ...options, onFinding: (f) => onFinding(f) });
      ok = result.ok;
      count = result.findings;
    }
  } catch (err) {
    bar.done();
    // The run could not finish (the store could not be listed): still show every finding so far.
    if (p.values.json)
      io.stdout.write(
        `${JSON.stringify({ ok: false, store: store.location, error: describe(err), findings }, null, 2)}\n`,
      );
    throw err;
  }
  bar.done();
  if (out) {
    const only = result.logs.length === 1 ? result.logs[0] : undefined;
    if (!only?.latestCheckpoint)
      throw new ConfigurationError(
        'CHECKPOINT_AMBIGUOUS',
        '--write-checkpoint needs exactly one non-empty log (use --log)',
      );
    if (ok) await writeOutputFile(out, only.latestCheckpoint);
  }
  // Sealed fields (FORMAT.md §11.2): erased ones are information, never findings.
  const keys = await subjectKeysOf(p, 'verify');
  let sealed: SealedCensus | undefined;
  if (keys) {
    const { censusSealed } = await import('../../app/sealed-census.js');
    sealed = await censusSealed(
      store,
      { trustedKeys, logs: logs.length ? logs : undefined, bundle: Boolean(p.values.bundle) },
      keys,
      (f) => {
        onFinding(f);
        count++;
        ok = false;
      },
    );
  }
  if (p.values.json) {
    io.stdout.write(
      `${JSON.stringify(
        {
          ok,
          ...(sealed ? { sealed } : {}),
          store: store.location,
          ...(replica ? { replica: replica.location } : {}),
          ...(incremental ? { state: stateStore?.location, incremental: incremental.logs } : {}),
          // `end` is the incremental position (binary hashes): its parts are in the summary.
          logs: result.logs.map(({ end: _end, ...summary }) => summary),
          witnessObjects: result.witnessObjects,
          findings,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    for (const l of result.logs) io.stdout.write(`${escapeText(formatSummary(l))}\n`);
    if (result.witnessObjects > 0 && !witness)
      io.stdout.write(
        `${result.witnessObjects} cosigned checkpoint object(s) under <log>/witness/ not checked (give --witness-key)\n`,
      );
    for (const l of incremental?.logs ?? [])
      io.stdout.write(`${escapeText(formatIncremental(l))}\n`);
    if (sealed)
      io.stdout.write(
        `sealed fields: ${sealed.open + sealed.erased + sealed.invalid} in ${sealed.entries} entries: ${sealed.open} open, ${sealed.erased} erased (keys of ${sealed.erasedSubjects} subject(s) destroyed: information, not a finding)${sealed.invalid ? `, ${sealed.invalid} invalid (findings SEALED_FIELD_INVALID)` : ''}\n`,
      );
    const where = `${store.location}${replica ? ` and replica ${replica.location}` : ''}`;
    io.stdout.write(
      ok ? `OK: ${where} verified, no findings\n` : `FAILED: ${count} finding(s) in ${where}\n`,
    );
  }
  return ok ? EXIT.ok : EXIT.findings;
}

/**
 * Reads a `--checkpoint` file and applies the signature policy at its seal time: the same rule
 * as for segments, so a key outside its validity window is refused here too. Cosignature lines of
 * `--witness-key` witnesses (a cosigned checkpoint file) are not the log's and are left out.
 * @throws ConfigurationError `CHECKPOINT_NOT_FOUND`, `CHECKPOINT_UNREADABLE`,
 *   `CHECKPOINT_MALFORMED`, `CHECKPOINT_UNTRUSTED` (the policy's problem codes in the message)
 */
async function loadTrustedCheckpoint(
  file: string,
  trustedKeys: readonly TrustedKey[],
  witnessKeys: readonly CosignerKey[],
): Promise<TrustedCheckpoint> {
  const text = await readInputFile(file, 'CHECKPOINT', MAX_CHECKPOINT_FILE_BYTES);
  let evaluation: ReturnType<typeof evaluateCheckpointNote>;
  try {
    evaluation = evaluateCheckpointNote(text, trustedKeys, witnessKeys);
  } catch (err) {
    if (!(err instanceof AuditlockError)) throw err;
    throw new ConfigurationError(
      'CHECKPOINT_MALFORMED',
      `checkpoint ${JSON.stringify(file)} is not an auditlock signed checkpoint (${err.code}: ${err.message})`,
      { cause: err },
    );
  }
  const { verdict, checkpoint } = evaluation;
  if (!verdict.accepted) {
    const why = verdict.problems.map((x) => `${x.code}: ${x.detail}`).join('; ');
    throw new ConfigurationError(
      'CHECKPOINT_UNTRUSTED',
      `checkpoint ${JSON.stringify(file)} is not accepted: ${why || 'SIGNATURE_UNTRUSTED: no trusted signature'}`,
    );
  }
  return { origin: checkpoint.origin, treeSize: checkpoint.treeSize, root: checkpoint.root };
}

/**
 * `--consistent-with`: verifies the earlier bundle or store (as a bundle when the later one is
 * read as one) and returns the newest checkpoint of each of its logs, to be trusted checkpoints of
 * this run: the later one extends it when each log has the same root at that size (checked within
 * its range, or against the frontier its first segment starts from when it starts right there).
 * @throws ConfigurationError `CONSISTENCY_BASE_INVALID` when the earlier one has findings: a base
 *   that does not verify proves nothing
 */
async function earlierHeads(
  spec: string,
  trustedKeys: readonly TrustedKey[],
  witnessKeys: readonly CosignerKey[],
  bundle: boolean,
  workers: number,
): Promise<TrustedCheckpoint[]> {
  const earlier = await openStore(spec);
  const result = await verifyStore(earlier, { trustedKeys, bundle, workers });
  if (!result.ok)
    throw new ConfigurationError(
      'CONSISTENCY_BASE_INVALID',
      `--consistent-with ${JSON.stringify(spec)}: the earlier ${bundle ? 'bundle' : 'store'} has ${result.findings} finding(s) of its own (run verify on it)`,
    );
  const heads: TrustedCheckpoint[] = [];
  for (const l of result.logs) {
    if (!l.latestCheckpoint) continue;
    const { checkpoint } = evaluateCheckpointNote(l.latestCheckpoint, trustedKeys, witnessKeys);
    heads.push({
      origin: checkpoint.origin,
      treeSize: checkpoint.treeSize,
      root: checkpoint.root,
      by: `the head of ${l.log} in ${earlier.location} (segment ${l.lastSeq})`,
    });
  }
  return heads;
}

/** One line per log: what was verified (segment range, tree sizes) and its verdict. */
function formatSummary(l: LogSummary): string {
  const range =
    l.firstSeq === undefined
      ? 'no segments'
      : `segments ${l.firstSeq}..${l.lastSeq} (${l.segments})`;
  const tree =
    l.startTreeSize !== undefined && l.startTreeSize > 0
      ? `tree size ${l.startTreeSize}..${l.treeSize}`
      : `tree size ${l.treeSize}`;
  return (
    `log ${l.log} (${l.origin ?? 'no origin'}): ${range}, ${l.entries} entries` +
    `${l.quarantined ? ` (${l.quarantined} quarantined)` : ''}, ${tree}, ${formatBytes(l.bytes)}` +
    `${l.lastSealedAt ? `, sealed ${l.firstSealedAt} .. ${l.lastSealedAt}` : ''}: ${l.findings === 0 ? 'OK' : `${l.findings} finding(s)`}`
  );
}

function describe(err: unknown): { code: string; message: string } {
  return err instanceof AuditlockError
    ? { code: err.code, message: err.message }
    : { code: 'UNEXPECTED', message: String(err) };
}

/** Where an incremental run started and ended, and the state record it saved. */
function formatIncremental(l: IncrementalLogResult): string {
  const from = l.from ? `from tree size ${l.from.treeSize} (segment ${l.from.seq})` : 'in full';
  const why = l.fullBecause ? ` (${l.fullBecause})` : '';
  const saved = l.saved === undefined ? 'state not advanced' : `state record ${l.saved} saved`;
  return `log ${l.log}: verified ${from}${why}, ${l.segmentsRead} segment(s) read, ${saved}`;
}

/** Which store an incremental run's finding is about (the comparison adapter tags replica ones). */
function from(f: Finding): 'comparison' | undefined {
  return f.code.startsWith('REPLICA_') ? 'comparison' : undefined;
}

function formatFinding(f: Finding & { from?: string }): string {
  const where = [
    f.from === 'replica' && 'replica',
    f.log && `log ${f.log}`,
    f.seq !== undefined && `segment ${f.seq}`,
    f.index !== undefined && `entry ${f.index}`,
    !f.log && f.key,
  ]
    .filter(Boolean)
    .join(', ');
  return escapeText(`${f.code} [${where || 'store'}]: ${f.detail} (${FINDING_CODES[f.code]})`);
}
