import { readFile, writeFile } from 'node:fs/promises';
import { verifyStore } from '../../app/verify.js';
import { type Checkpoint, parseCheckpoint } from '../../core/checkpoint.js';
import { ConfigurationError } from '../../core/errors.js';
import { FINDING_CODES, type Finding } from '../../core/findings.js';
import { checkSignature, parseNote } from '../../core/note.js';
import { type CommandSpec, intOption, listOption, parseCommand, stringOption } from '../args.js';
import { EXIT } from '../cli-error.js';
import { loadTrustedKeys } from '../keys.js';
import { formatBytes, type Io, progress } from '../output.js';
import { openStore } from '../stores.js';

export const verifySpec: CommandSpec = {
  name: 'verify',
  summary:
    'Verify every segment of every log in a store (or evidence bundle) and report every problem.',
  usage: 'verify <store> --pubkey PEM [options]',
  description:
    'Checks structure, signatures, hash chain, sequence numbers, leaf indexes, Merkle roots, receive\n' +
    'and seal times, and unexpected objects. Needs only public keys and read access.\n' +
    'Exit status: 0 clean, 1 findings, 2 usage or I/O error.',
  options: {
    pubkey: {
      type: 'string',
      multiple: true,
      value: 'PEM',
      help: 'trusted public key (SPKI PEM or vkey, file or text); repeatable',
    },
    'trusted-keys': {
      type: 'string',
      value: 'FILE',
      help: 'JSON file of trusted keys with validity windows (key rotation)',
    },
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
    'strict-entries': {
      type: 'boolean',
      help: 'validate every entry against the full event schema (slower)',
    },
    concurrency: { type: 'string', value: 'N', help: 'parallel downloads', default: '8' },
    'min-retention-days': {
      type: 'string',
      value: 'DAYS',
      help: 'S3: each segment must be locked (COMPLIANCE) at least this long after its seal time',
      default: '0',
    },
    json: { type: 'boolean', help: 'print findings and summary as JSON on stdout' },
  },
  positionals: { min: 1, max: 1 },
};

export async function verify(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(verifySpec, argv);
  const trustedKeys = await loadTrustedKeys(
    listOption(p, 'pubkey'),
    stringOption(p, 'trusted-keys'),
  );
  const trustedCheckpoints: Checkpoint[] = [];
  for (const file of listOption(p, 'checkpoint')) {
    const note = parseNote(
      await readFile(file, 'utf8').catch((cause) => {
        throw new ConfigurationError('CHECKPOINT_NOT_FOUND', `cannot read checkpoint ${file}`, {
          cause,
        });
      }),
    );
    const cp = parseCheckpoint(note.text);
    if (
      !note.signatures.some(
        (s) => checkSignature(note.text, s, trustedKeys, cp.origin).status === 'valid',
      )
    )
      throw new ConfigurationError(
        'CHECKPOINT_UNTRUSTED',
        `checkpoint ${file} is not signed by a trusted key`,
      );
    trustedCheckpoints.push(cp);
  }
  const store = await openStore(p.positionals[0] as string);
  const findings: Finding[] = [];
  const bar = progress(io);
  const logs = listOption(p, 'log');
  const result = await verifyStore(store, {
    trustedKeys,
    trustedCheckpoints,
    logs: logs.length ? logs : undefined,
    origin: stringOption(p, 'origin'),
    expectSize: intOption(p, 'expect-size'),
    strictEntries: Boolean(p.values['strict-entries']),
    concurrency: intOption(p, 'concurrency', { min: 1, max: 256 }),
    minRetentionDays: intOption(p, 'min-retention-days', { max: 36_500 }),
    onFinding: (f) => {
      findings.push(f);
      if (!p.values.json) io.stderr.write(`${formatFinding(f)}\n`);
    },
    onProgress: ({ segments, bytes }) =>
      bar.update(`verified ${segments} segments, ${formatBytes(bytes)}`),
  });
  bar.done();
  const out = stringOption(p, 'write-checkpoint');
  if (out) {
    const only = result.logs.length === 1 ? result.logs[0] : undefined;
    if (!only?.latestCheckpoint)
      throw new ConfigurationError(
        'CHECKPOINT_AMBIGUOUS',
        '--write-checkpoint needs exactly one non-empty log (use --log)',
      );
    if (result.ok) await writeFile(out, only.latestCheckpoint);
  }
  if (p.values.json) {
    io.stdout.write(
      `${JSON.stringify({ ok: result.ok, store: store.location, logs: result.logs, findings }, null, 2)}\n`,
    );
  } else {
    for (const l of result.logs)
      io.stdout.write(
        `log ${l.log} (${l.origin ?? 'no origin'}): ${l.segments} segments, ${l.entries} entries` +
          `${l.quarantined ? ` (${l.quarantined} quarantined)` : ''}, tree size ${l.treeSize}, ${formatBytes(l.bytes)}` +
          `${l.lastSealedAt ? `, sealed ${l.firstSealedAt} .. ${l.lastSealedAt}` : ''}: ${l.findings === 0 ? 'OK' : `${l.findings} finding(s)`}\n`,
      );
    io.stdout.write(
      result.ok
        ? `OK: ${store.location} verified, no findings\n`
        : `FAILED: ${result.findings} finding(s) in ${store.location}\n`,
    );
  }
  return result.ok ? EXIT.ok : EXIT.findings;
}

function formatFinding(f: Finding): string {
  const where = [
    f.log && `log ${f.log}`,
    f.seq !== undefined && `segment ${f.seq}`,
    f.index !== undefined && `entry ${f.index}`,
    !f.log && f.key,
  ]
    .filter(Boolean)
    .join(', ');
  return `${f.code} [${where}]: ${f.detail} (${FINDING_CODES[f.code]})`;
}
