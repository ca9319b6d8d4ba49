/**
 * The ingest runtime behind every Lambda handler: created once per execution environment and
 * reused while warm (SDK clients, signer and its cached public key, one archiver per log with its
 * head). One call processes the records of one invocation:
 *
 * 1. records go, in order, to the archiver of their lane's log; input that failed decoding or
 *    validation is archived as a quarantined entry (never dropped, never blocking the queue);
 * 2. records that may be redeliveries are checked against the log (Kinesis: sequence number at or
 *    below the shard log's watermark; SQS: ApproximateReceiveCount > 1 and the delivery id found in
 *    recently sealed segments) and skipped if already archived. Only trusted segments count (the
 *    archiver's trusted keys, app/trusted-segment.ts): a forged segment never makes a real record
 *    look archived. A delivery id seen twice in one invocation (a redelivered SQS message in the
 *    same batch) is archived once, and each of its records succeeds only if that copy is stored;
 * 3. when the remaining time falls below the reserve, no further record is started;
 * 4. everything started is flushed, and a record counts as processed only when all of its entries
 *    are durably stored. The rest are reported as failures, to be retried by Lambda.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Archiver, type Receipt } from '../app/archiver.js';
import {
  type DeliveryRef,
  deliveriesIn,
  findDelivered,
  findDeliveredBackward,
  type LookupOptions,
} from '../app/delivered.js';
import { findHeadSeq } from '../app/head.js';
import { type SealingSubmit, sealingSubmit } from '../app/seal-submit.js';
import type { SubjectKeys } from '../app/subject-keys.js';
import { AuditlockError, ConfigurationError } from '../core/errors.js';
import type { Clock, ObjectStore, Signer } from '../core/ports.js';
import type { SourceKind, SourceRecord } from '../sources/types.js';
import type { LambdaConfig } from './config.js';
import { logNameFor } from './lanes.js';

export type RuntimeDeps = {
  readonly config: LambdaConfig;
  readonly store: ObjectStore;
  readonly signer: Signer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Keys for sealed fields; with `config.sealConfig` every event is sealed before it is buffered. */
  readonly subjectKeys?: SubjectKeys | undefined;
};

export type InvocationResult = {
  /** Records not (fully) stored, by itemIdentifier (records without one fail the invocation). */
  readonly failed: SourceRecord[];
  readonly stored: number;
  readonly quarantined: number;
  readonly skippedRedeliveries: number;
  /** Records not started because the time budget ran out. */
  readonly deferred: number;
};

type Lane = {
  readonly log: string;
  readonly archiver: Archiver;
  /** Submits a valid event: sealed (app/seal-submit.ts) when the deployment seals fields. */
  readonly submit: SealingSubmit;
  /**
   * Highest Kinesis sequence number stored in this log. Records at or below it may be retries
   * (Lambda retries a shard from the first failed record) and are looked up exactly.
   */
  kinesisWatermark: bigint | undefined;
};

/** A record handed to its lane's archiver in this invocation, and how that went. */
type Started = {
  readonly record: SourceRecord;
  readonly lane: Lane;
  /** False once any of its entries could not be submitted or stored. */
  ok: boolean;
  /** Earlier records of this invocation whose entries stand for some of this one's items. */
  readonly dependsOn: Started[];
  /** Entries submitted, and how many of them quarantined. */
  entries: number;
  quarantined: number;
};

/**
 * Recently stored delivery ids, so a warm container recognises its own redeliveries for free: the
 * last `max / 2` to `max` ids, in two generations. (One Set evicting its oldest entry per add costs
 * O(deleted entries) per eviction, since a Set keeps holes until it rehashes: tens of µs per id once
 * full, more than archiving the event.)
 */
class RecentIds {
  readonly #half: number;
  #current = new Set<string>();
  #previous = new Set<string>();
  constructor(max: number) {
    this.#half = Math.max(1, Math.floor(max / 2));
  }
  add(id: string): void {
    this.#current.add(id);
    if (this.#current.size >= this.#half) {
      this.#previous = this.#current;
      this.#current = new Set();
    }
  }
  has(id: string): boolean {
    return this.#current.has(id) || this.#previous.has(id);
  }
}

export class IngestRuntime {
  readonly #d: RuntimeDeps;
  readonly #lanes = new Map<string, Promise<Lane>>();
  readonly #recent = new RecentIds(100_000);

  constructor(deps: RuntimeDeps) {
    this.#d = deps;
  }

  #lane(log: string): Promise<Lane> {
    let lane = this.#lanes.get(log);
    if (!lane) {
      lane = this.#openLane(log);
      lane.catch(() => this.#lanes.delete(log)); // retry opening on the next invocation
      this.#lanes.set(log, lane);
    }
    return lane;
  }

  async #openLane(log: string): Promise<Lane> {
    const { config, store, signer, clock, metrics, logger } = this.#d;
    let kinesisWatermark: bigint | undefined;
    const archiver = await Archiver.open({
      store,
      signer,
      clock,
      log,
      origin: `${config.AUDITLOCK_ORIGIN_PREFIX}/${log}`,
      trustedKeys: config.trustedKeys,
      // The watermark comes from the verified head the archiver has just read: no second read.
      onOpenHead: (head) => {
        kinesisWatermark = highestKinesisSequence(
          deliveriesIn(head.entries, `segment ${head.seg.checkpoint.seq} of ${log}`),
        );
      },
      encoding: config.AUDITLOCK_COMPRESS,
      maxEvents: config.AUDITLOCK_MAX_EVENTS,
      maxBytes: config.AUDITLOCK_MAX_BYTES,
      // Within one invocation everything is flushed explicitly; the age limit is a backstop.
      maxAgeMs: 60_000,
      onStored: (s) => {
        metrics.addMetric('SegmentsSealed', MetricUnit.Count, 1);
        metrics.addMetric('SegmentBytes', MetricUnit.Bytes, s.bytes);
        metrics.addMetric('SealToStoreLatency', MetricUnit.Milliseconds, s.storeMs);
      },
      onRetry: (r) => {
        metrics.addMetric(
          r.reason === 'lost-race' ? 'LostRaces' : 'StoreRetries',
          MetricUnit.Count,
          1,
        );
        this.#d.logger.warn('segment store retried', {
          log,
          seq: r.seq,
          reason: r.reason,
          error: String(r.error),
        });
      },
    });
    if (archiver.keyChange)
      logger.warn('continuing a log signed by another trusted key', {
        log,
        detail: archiver.keyChange.message,
      });
    const { sealConfig } = config;
    const keys = this.#d.subjectKeys;
    if (sealConfig && !keys)
      throw new ConfigurationError('SEAL_KEYS_MISSING', 'sealing is configured but no key store');
    const submit: SealingSubmit =
      sealConfig && keys
        ? sealingSubmit(archiver, sealConfig, keys)
        : (event, delivery) => archiver.submit(event, delivery);
    return { log, archiver, submit, kinesisWatermark };
  }

  /**
   * Quarantines invalid input, except when fields are sealed: a quarantined entry keeps the input
   * as received, personal fields in clear, so the record fails instead (it is retried, then goes
   * to the source's dead-letter queue) and nothing of it is stored.
   */
  #quarantine(
    lane: Lane,
    raw: Uint8Array,
    error: AuditlockError,
    delivery: Parameters<Archiver['submitQuarantine']>[2],
  ): ReturnType<Archiver['submitQuarantine']> {
    if (this.#d.config.sealConfig)
      throw new ConfigurationError(
        'SEAL_QUARANTINE_CONFLICT',
        `invalid input (${error.code}) is not quarantined where fields are sealed: the record fails`,
      );
    return lane.archiver.submitQuarantine(raw, error, delivery);
  }

  /** Lookup options for `lane`: its archiver's trusted keys; skipped segments are logged. */
  #lookup(lane: Lane): LookupOptions {
    return {
      trustedKeys: lane.archiver.trustedKeys,
      onUntrusted: (seq, error) => {
        this.#d.metrics.addMetric('UntrustedSegments', MetricUnit.Count, 1);
        this.#d.logger.error('untrusted segment ignored by the redelivery lookup', {
          log: lane.log,
          seq,
          error: describeError(error),
        });
      },
    };
  }

  /** Archives the records of one invocation; see the module comment. */
  async process(
    kind: SourceKind,
    records: readonly SourceRecord[],
    remainingMs: () => number,
  ): Promise<InvocationResult> {
    const { config, metrics, logger } = this.#d;
    const started: Started[] = [];
    const pending: Promise<Receipt>[] = [];
    const failed: SourceRecord[] = [];
    const lanesUsed = new Set<Lane>();
    let skipped = 0;
    let deferred = 0;
    // Open each lane's log once per invocation (a log that cannot be opened is not retried for
    // every record), then look up every possible redelivery of this batch at once.
    const laneOf = await this.#lanesOf(kind, records);
    const archived = await this.#alreadyArchived(kind, records, laneOf);
    // Delivery keys submitted in this invocation, per lane, and the record that submitted each.
    const submitted = new Map<Lane, Map<string, Started>>();
    for (const [i, record] of records.entries()) {
      if (remainingMs() < config.AUDITLOCK_TIME_RESERVE_MS) {
        deferred = records.length - i;
        failed.push(...records.slice(i));
        logger.warn('time budget reached; deferring records to a retry', { deferred });
        break;
      }
      const lane = laneOf.get(record);
      if (!lane) {
        failed.push(record);
        continue;
      }
      lanesUsed.add(lane);
      const s: Started = { record, lane, ok: true, dependsOn: [], entries: 0, quarantined: 0 };
      const inBatch = submitted.get(lane) ?? new Map<string, Started>();
      submitted.set(lane, inBatch);
      const items = record.items.filter((it) => {
        if (!it.delivery.id) return true;
        const k = deliveryKey(it.delivery);
        if (archived.has(k)) return false;
        const earlier = inBatch.get(k);
        if (earlier === undefined) {
          inBatch.set(k, s);
          return true;
        }
        if (earlier !== s && !s.dependsOn.includes(earlier)) s.dependsOn.push(earlier);
        return false;
      });
      skipped += record.items.length - items.length;
      const fail = () => {
        s.ok = false;
      };
      try {
        for (const item of items) {
          const handle = item.ok
            ? await lane.submit(item.event, item.delivery)
            : await this.#quarantine(lane, item.raw, item.error, item.delivery);
          s.entries++;
          if (!item.ok) s.quarantined++;
          // Registered first, so the flag is set before the allSettled below sees the outcome.
          handle.stored.then(undefined, fail);
          pending.push(handle.stored);
        }
      } catch (err) {
        logger.error('cannot submit record', { error: describeError(err) });
        fail();
      }
      started.push(s);
    }
    await Promise.all([...lanesUsed].map((l) => l.archiver.flush()));
    await Promise.allSettled(pending);
    let storedCount = 0;
    let quarantined = 0;
    // In input order, so a record's dependencies have their final outcome before it is judged.
    for (const s of started) if (s.dependsOn.some((d) => !d.ok)) s.ok = false;
    for (const { record, lane, ok, entries, quarantined: q } of started) {
      if (!ok) {
        failed.push(record);
        continue;
      }
      storedCount += entries;
      quarantined += q;
      for (const item of record.items)
        if (item.delivery.id) this.#recent.add(deliveryKey(item.delivery));
      if (
        record.sequenceNumber !== undefined &&
        (lane.kinesisWatermark === undefined || record.sequenceNumber > lane.kinesisWatermark)
      )
        lane.kinesisWatermark = record.sequenceNumber;
    }
    metrics.addMetric('EventsArchived', MetricUnit.Count, storedCount - quarantined);
    metrics.addMetric('RecordsQuarantined', MetricUnit.Count, quarantined);
    metrics.addMetric('RedeliveriesSkipped', MetricUnit.Count, skipped);
    metrics.addMetric('RecordsFailed', MetricUnit.Count, failed.length);
    if (deferred > 0) metrics.addMetric('RecordsDeferred', MetricUnit.Count, deferred);
    return {
      failed: sortByInput(records, failed),
      stored: storedCount,
      quarantined,
      skippedRedeliveries: skipped,
      deferred,
    };
  }

  /** The lane of each record whose log could be opened; each log is tried once. */
  async #lanesOf(
    kind: SourceKind,
    records: readonly SourceRecord[],
  ): Promise<Map<SourceRecord, Lane>> {
    const byLog = new Map<string, Lane | undefined>();
    const laneOf = new Map<SourceRecord, Lane>();
    for (const record of records) {
      const log = logNameFor(this.#d.config, kind, record);
      if (!byLog.has(log)) {
        try {
          byLog.set(log, await this.#lane(log));
        } catch (err) {
          byLog.set(log, undefined);
          this.#d.logger.error('cannot open log', { log, error: describeError(err) });
        }
      }
      const lane = byLog.get(log);
      if (lane) laneOf.set(record, lane);
    }
    return laneOf;
  }

  /**
   * Delivery keys (`source:id`) of this batch's items that the log already holds. Only records that
   * may be redeliveries are looked up: Kinesis records at or below their shard log's watermark
   * (Lambda retries a shard from the first failed record), SQS messages received more than once.
   */
  async #alreadyArchived(
    kind: SourceKind,
    records: readonly SourceRecord[],
    laneOf: Map<SourceRecord, Lane>,
  ): Promise<Set<string>> {
    const found = new Set<string>();
    const byLane = new Map<Lane, SourceRecord[]>();
    for (const r of records) {
      const lane = laneOf.get(r);
      if (!lane) continue;
      const retry =
        kind === 'kinesis'
          ? r.sequenceNumber !== undefined &&
            lane.kinesisWatermark !== undefined &&
            r.sequenceNumber <= lane.kinesisWatermark
          : r.maybeRedelivered;
      if (!retry) continue;
      const list = byLane.get(lane);
      if (list) list.push(r);
      else byLane.set(lane, [r]);
    }
    for (const [lane, rs] of byLane) {
      const wanted = new Map<string, Set<string>>(); // source -> ids not known locally
      for (const it of rs.flatMap((r) => r.items)) {
        if (!it.delivery.id) continue;
        if (this.#recent.has(deliveryKey(it.delivery))) {
          found.add(deliveryKey(it.delivery));
          continue;
        }
        wanted.set(
          it.delivery.source,
          (wanted.get(it.delivery.source) ?? new Set()).add(it.delivery.id),
        );
      }
      if (wanted.size === 0) continue;
      // Look up to the log's current head, not this environment's last view of it: other
      // environments may have appended since (an SQS message stored by one environment and
      // redelivered to another that is warm but has not written for a while).
      const headSeq = await findHeadSeq(this.#d.store, lane.log, lane.archiver.head.nextSeq - 1);
      for (const [source, ids] of wanted) {
        let hits: Set<string>;
        if (kind === 'kinesis') {
          const low = rs.reduce(
            (m, r) =>
              r.sequenceNumber !== undefined && r.sequenceNumber < m ? r.sequenceNumber : m,
            lane.kinesisWatermark as bigint,
          );
          // A shard's log is in sequence order except after retries, which restart lower: older
          // segments matter while they still reach the lowest sequence number sought.
          hits = await findDeliveredBackward(
            this.#d.store,
            lane.log,
            headSeq,
            source,
            ids,
            (ds) => {
              const highest = highestKinesisSequence(ds);
              return highest === undefined || highest >= low;
            },
            this.#lookup(lane),
          );
        } else {
          const since = this.#d.clock.now() - this.#d.config.AUDITLOCK_DEDUP_WINDOW_SECONDS * 1000;
          hits = await findDelivered(
            this.#d.store,
            lane.log,
            headSeq,
            source,
            ids,
            since,
            this.#lookup(lane),
          );
        }
        for (const id of hits) found.add(`${source}:${id}`);
      }
    }
    return found;
  }
}

function deliveryKey(d: { source: string; id?: string | undefined }): string {
  return `${d.source}:${d.id}`;
}

/**
 * Kinesis delivery ids are `<sequence number>` or `<sequence number>#<index>` (sources/kinesis.ts);
 * a quarantined record may carry any text there, which is no sequence number and is ignored.
 */
const KINESIS_ID_RE = /^(0|[1-9][0-9]{0,127})(#(0|[1-9][0-9]{0,9}))?$/;

/** The highest Kinesis sequence number among `deliveries`, if any. */
function highestKinesisSequence(deliveries: readonly DeliveryRef[]): bigint | undefined {
  let max: bigint | undefined;
  for (const d of deliveries) {
    if (d.source !== 'kinesis') continue;
    const m = KINESIS_ID_RE.exec(d.id);
    if (!m) continue;
    const seq = BigInt(m[1] as string); // a decimal digit string: cannot throw
    if (max === undefined || seq > max) max = seq;
  }
  return max;
}

/** An error for structured logs: its code, kind and message (never a bare `[object Object]`). */
function describeError(err: unknown): { name: string; code?: string; message: string } | string {
  if (err instanceof AuditlockError)
    return { name: err.name, code: err.code, message: err.message };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return String(err);
}

function sortByInput(records: readonly SourceRecord[], failed: SourceRecord[]): SourceRecord[] {
  const set = new Set(failed);
  return records.filter((r) => set.has(r));
}
