/**
 * What every event-source mapper produces: the records of one Lambda invocation, each with the
 * audit events (or the undecodable input) it carries. Mappers are pure: no I/O, no clock.
 *
 * A record is the unit Lambda retries and that partial batch responses name (`itemIdentifier`);
 * one record may carry several audit events (a CloudWatch Logs batch, a JSON array in one SQS
 * message) and each event becomes one log entry. Input that cannot be decoded or validated is never
 * dropped: it becomes a `rejected` item, archived as a quarantined entry with its error.
 */
import type { Delivery } from '../core/entry.js';
import type { InputError } from '../core/errors.js';
import type { AuditEvent } from '../core/event.js';

export type SourceItem =
  | { readonly ok: true; readonly event: AuditEvent; readonly delivery: Delivery }
  | {
      readonly ok: false;
      readonly raw: Uint8Array;
      readonly error: InputError;
      readonly delivery: Delivery;
    };

export type SourceRecord = {
  /**
   * What a partial batch response names if this record fails: the SQS `messageId` or the Kinesis
   * `sequenceNumber`. Undefined for sources that retry a whole invocation (EventBridge, CloudWatch
   * Logs, direct invocation).
   */
  readonly itemIdentifier: string | undefined;
  /**
   * Which log the record belongs to when a deployment runs one log per lane: the Kinesis shard id,
   * the SQS FIFO message group id. Undefined: the deployment's default lane.
   */
  readonly lane: string | undefined;
  /**
   * True if this record may have been delivered before (SQS `ApproximateReceiveCount` > 1): only
   * such records need the (costlier) check against what the log already holds.
   */
  readonly maybeRedelivered: boolean;
  /** Kinesis only: the record's sequence number, increasing within a shard. */
  readonly sequenceNumber?: bigint | undefined;
  /** The audit events in the record, in order; rejected input in place. */
  readonly items: readonly SourceItem[];
};

/** The sources a handler can be fed by. */
export type SourceKind = 'sqs' | 'kinesis' | 'eventbridge' | 'cloudwatch-logs' | 'direct';
