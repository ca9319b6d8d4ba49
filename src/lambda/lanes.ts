/** Which log a record goes to: one log per lane, each with its own origin. */
import { sha256 } from '../core/hash.js';
import type { SourceKind, SourceRecord } from '../sources/types.js';
import type { LambdaConfig } from './config.js';

/**
 * The log name for a record. Kinesis always gets one log per shard: a shard is processed in order
 * by one invocation at a time, which makes its sequence-number redelivery check exact.
 */
export function logNameFor(config: LambdaConfig, kind: SourceKind, record: SourceRecord): string {
  const base = config.AUDITLOCK_LOG;
  const lane = record.lane;
  if (lane === undefined) return base;
  if (kind !== 'kinesis' && config.AUDITLOCK_LANE_MODE === 'single') return base;
  if (kind !== 'kinesis' && config.AUDITLOCK_LANE_COUNT !== undefined) {
    const h = sha256(new TextEncoder().encode(lane));
    const n =
      ((h[0] as number) << 24) |
      ((h[1] as number) << 16) |
      ((h[2] as number) << 8) |
      (h[3] as number);
    return `${base}.lane-${(n >>> 0) % config.AUDITLOCK_LANE_COUNT}`;
  }
  return `${base}.${slug(lane, 62 - base.length)}`;
}

/**
 * A lane id as a log-name suffix of at most `max` characters: kept as is when it is already safe
 * (e.g. `shardid-000000000000` lowercased is not: Kinesis shard ids have upper case), otherwise
 * a readable prefix plus a hash, so two lanes never share a log.
 */
function slug(lane: string, max: number): string {
  if (/^[a-z0-9][a-z0-9._-]*$/.test(lane) && lane.length <= max) return lane;
  const hash = Buffer.from(sha256(new TextEncoder().encode(lane)))
    .toString('hex')
    .slice(0, 12);
  const clean = lane
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+/, '');
  const room = Math.max(0, max - hash.length - 1);
  return room > 0 && clean.length > 0
    ? `${clean.slice(0, room)}-${hash}`
    : hash.slice(0, Math.max(1, max));
}
