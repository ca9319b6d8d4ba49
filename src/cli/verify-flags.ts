/**
 * The flags `verify` and `report` share for the witness check, the replica, retention and the
 * verification threads (and `receipt`/`verify-receipt` the witness ones): declared, read and
 * checked once, here, so the commands cannot drift apart in what they accept.
 */
import { availableParallelism } from 'node:os';
import type { WitnessCheckOptions } from '../app/verify.js';
import type { CosignerKey } from '../core/cosignature.js';
import { intOption, listOption, type OptionSpec, type Parsed, stringOption } from './args.js';
import { UsageError } from './cli-error.js';
import { loadWitnessVkey } from './keys.js';
import { openStore } from './stores.js';

/** `--witness-key`, `--witnesses` and `--cosignatures`, read by {@link readWitnessFlags}. */
export const WITNESS_OPTIONS = {
  'witness-key': {
    type: 'string',
    multiple: true,
    value: 'VKEY',
    help: 'trusted witness key (vkey, file or text); its cosigned checkpoints count; repeatable',
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
    help: 'with --witness-key: also read <log>/witness/ cosigned checkpoints from this store; repeatable',
  },
} as const satisfies Record<string, OptionSpec>;

/** `--replica` and `--rtc-window`, read by {@link readReplicaFlags}. */
export const REPLICA_OPTIONS = {
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
} as const satisfies Record<string, OptionSpec>;

/** `--min-retention-days DAYS`, read by {@link readMinRetentionDays}. */
export const MIN_RETENTION_OPTION: OptionSpec = {
  type: 'string',
  value: 'DAYS',
  help: 'S3: each segment must be locked (COMPLIANCE) at least this long after its seal time',
  default: '0',
};

/** `--min-retention-days`, 0 to 36,500. */
export function readMinRetentionDays(p: Parsed): number | undefined {
  return intOption(p, 'min-retention-days', { max: 36_500 });
}

export type WitnessFlags = {
  readonly keys: readonly CosignerKey[];
  readonly quorum: number;
  /** `--cosignatures` store specs, opened by {@link openWitnessCheck}. */
  readonly cosignatures: readonly string[];
};

/**
 * `--witness-key` (repeatable), `--witnesses K` (default 1) and `--cosignatures STORE` (a command
 * without that option, e.g. `receipt`, simply has none).
 * @throws UsageError for --witnesses/--cosignatures without --witness-key, or K above the keys
 */
export async function readWitnessFlags(p: Parsed): Promise<WitnessFlags> {
  const keys: CosignerKey[] = [];
  for (const k of listOption(p, 'witness-key')) keys.push(await loadWitnessVkey(k));
  const quorum = intOption(p, 'witnesses', { min: 1, max: 64 }) ?? 1;
  const cosignatures = listOption(p, 'cosignatures');
  if (keys.length === 0 && (cosignatures.length > 0 || p.values.witnesses !== '1'))
    throw new UsageError('--witnesses and --cosignatures need --witness-key');
  if (keys.length > 0 && quorum > keys.length)
    throw new UsageError(
      `--witnesses ${quorum} needs at least ${quorum} --witness-key (got ${keys.length})`,
    );
  return { keys, quorum, cosignatures };
}

/** The witness check for verifyStore, or undefined without witness keys. */
export async function openWitnessCheck(
  flags: WitnessFlags,
): Promise<WitnessCheckOptions | undefined> {
  if (flags.keys.length === 0) return undefined;
  return {
    keys: flags.keys,
    quorum: flags.quorum,
    stores: await Promise.all(flags.cosignatures.map((c) => openStore(c))),
  };
}

/**
 * `--replica STORE` and `--rtc-window SECONDS` (default 900), the window in ms.
 * @throws UsageError for --rtc-window without --replica
 */
export function readReplicaFlags(p: Parsed): {
  readonly replica: string | undefined;
  readonly rtcWindowMs: number;
} {
  const replica = stringOption(p, 'replica');
  if (!replica && p.values['rtc-window'] !== '900')
    throw new UsageError('--rtc-window needs --replica');
  return {
    replica,
    rtcWindowMs: (intOption(p, 'rtc-window', { min: 1, max: 86_400 }) ?? 900) * 1000,
  };
}

/** Most `--workers`: more threads than that only add memory (each holds a segment). */
export const MAX_WORKERS = 64;

/** `--workers N`: threads that check segments (verifyStore's `workers`). */
export const WORKERS_OPTION: OptionSpec = {
  type: 'string',
  value: 'N',
  help: 'threads that check segments (default: the number of cores); 1 checks them on the main thread',
};

/**
 * `--workers N`, 1 to {@link MAX_WORKERS}; by default the cores Node may use
 * (`os.availableParallelism()`).
 * @throws UsageError for anything else
 */
export function readWorkersFlag(p: Parsed): number {
  return intOption(p, 'workers', { min: 1, max: MAX_WORKERS }) ?? availableParallelism();
}
