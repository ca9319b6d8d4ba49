/**
 * One stored entry as one OCSF 1.1.0 event (docs/OCSF.md §1–4). Pure: no I/O, no clock.
 *
 * Every row links back to its proof: `metadata.uid` is the event id, `metadata.sequence` the leaf
 * index, `metadata.log_name` the log's origin (the checkpoint's first line), `metadata.logged_time`
 * the seal time of the segment holding it, and `unmapped` holds `auditlock.log` (the store's log
 * name, for `auditlock receipt <store> <index> --log <log>`), `auditlock.index`,
 * `auditlock.leaf_hash` (RFC 6962 leaf hash, hex) and the segment (`auditlock.segment.seq`,
 * `.key`, `.version_id`). `unmapped` is a map of text to text, as Security Lake's tables have it.
 *
 * A quarantined entry (input refused at ingest, kept with its error) is a Base Event (class 0)
 * with activity 99 `Other` named `Quarantine`, severity Medium, status Failure, the label
 * `auditlock:quarantine` and its error and raw-input digest in `unmapped`: its fields were never
 * validated, so none of them is mapped as if it were an event.
 *
 * A sealed event (docs/FORMAT.md §11) is mapped as the event with each sealed field's stand-in
 * in its place (`"-"`, `"192.0.2.0"` for `source.ip`, `null` in `detail`): export opens no sealed
 * field. `unmapped` then has `auditlock.kind` `sealed-event` and `auditlock.sealed`, the JSON list
 * of `{field, state: "sealed", subject}` (the subject pseudonym, for a pseudonymous search).
 */
import { canonicalize, type JsonObject } from './canonical-json.js';
import { toHex } from './encoding.js';
import type { Entry, QuarantineEntry } from './entry.js';
import { ConfigurationError } from './errors.js';
import type { AuditEvent } from './event.js';
import { type EventHit, parseInstant } from './event-filter.js';
import {
  activityCaption,
  OCSF_CLASSES,
  OCSF_VERSION,
  type OcsfClass,
  SEVERITIES,
} from './ocsf-classes.js';
import { chooseClass, type OcsfConfig, verbActivity } from './ocsf-config.js';
import { standInFor, withValueAt } from './sealed-path.js';

/** A hit with what its link back needs besides its location. */
export type ExportRecord = EventHit & {
  /** RFC 6962 leaf hash of the stored entry bytes. */
  readonly leafHash: Uint8Array;
  /** `sealedAt` of the checkpoint of the segment holding the entry. */
  readonly sealedAt: string;
  /** Origin line of that checkpoint (the log's identity in its signed notes). */
  readonly origin: string;
};

export type OcsfContext = {
  readonly config: OcsfConfig;
  /** auditlock's version, for `metadata.product.version`. */
  readonly productVersion: string;
};

export type OcsfObject = { [name: string]: OcsfValue };
export type OcsfValue = string | number | boolean | OcsfObject | OcsfValue[];

/** An exported row: the OCSF attributes, `undefined` members left out. */
export type OcsfRow = OcsfObject & {
  readonly class_uid: number;
  readonly time: number;
  readonly unmapped: Record<string, string>;
};

/**
 * The event fields an export reads, the one place it reads them: an accepted event's fields as
 * stored; undefined for an entry kind that holds no event this module can read. A later format
 * that seals personal fields slots its reading (or redaction) in here.
 */
export function eventFields(entry: Entry): AuditEvent | undefined {
  if (entry.kind === 'event') return entry.event;
  if (entry.kind === 'sealed-event') {
    // Sealed fields are not read (export has no key store): their stand-ins take their place
    // (FORMAT.md §11.1: with them the event is a valid event, which the entry decoder checked),
    // and unmapped lists each sealed field with its subject pseudonym.
    let event: JsonObject = entry.event;
    for (const r of entry.sealed) event = withValueAt(event, r.field, standInFor(r.field));
    return event as unknown as AuditEvent;
  }
  return undefined;
}

/**
 * The OCSF row of one exported entry (module comment).
 * @throws ConfigurationError `OCSF_KIND_UNSUPPORTED` for an entry kind with no mapping
 */
export function toOcsfRow(rec: ExportRecord, ctx: OcsfContext): OcsfRow {
  if (rec.entry.kind === 'quarantine') return quarantineRow(rec, rec.entry, ctx);
  const e = eventFields(rec.entry);
  if (e === undefined)
    throw new ConfigurationError(
      'OCSF_KIND_UNSUPPORTED',
      `log ${rec.log} leaf ${rec.index}: entries of kind ${JSON.stringify(rec.entry.kind)} have no OCSF mapping in this version`,
    );
  return eventRow(rec, e, ctx);
}

function eventRow(rec: ExportRecord, e: AuditEvent, ctx: OcsfContext): OcsfRow {
  const choice = chooseClass(
    {
      action: e.action,
      category: e.category,
      resourceTypes: (e.resources ?? []).map((r) => r.type),
    },
    ctx.config,
  );
  // Entity Management needs the entity it manages; without a resource there is none to name.
  const clsName =
    choice.cls === 'entity_management' && !e.resources?.length ? 'api_activity' : choice.cls;
  const cls = OCSF_CLASSES[clsName];
  const activityId =
    choice.activity === 'auto'
      ? (cls.activities[verbActivity(e.action)] as number)
      : (cls.activities[choice.activity] ?? 99);
  const status = STATUS[e.outcome];
  const user = actorUser(e);
  const cloud = cloudOf(e, ctx.config);
  const row: Record<string, OcsfValue | undefined> = {
    ...classification(cls, activityId),
    severity_id: SEVERITIES[choice.severity ?? (e.outcome === 'failure' ? 'low' : 'informational')],
    time: parseInstant(e.time, 'event.time').ms,
    timezone_offset: zoneOffsetMinutes(e.time),
    message: `${e.action} by ${e.actor.id}: ${e.outcome}`,
    status_id: status.id,
    status: status.caption,
    status_code: e.reason?.code,
    status_detail: e.reason?.message,
    metadata: metadata(rec, ctx, {
      uid: e.id,
      correlation_uid: e.correlationId,
      original_time: e.time,
      profiles: ['cloud'],
    }),
    cloud,
    actor: compact({ user, session: e.actor.sessionId ? { uid: e.actor.sessionId } : undefined }),
    src_endpoint: srcEndpoint(e),
    http_request: e.source?.userAgent ? { user_agent: e.source.userAgent } : undefined,
    unmapped: unmapped(rec, eventExtras(e)),
  };
  const resources = e.resources?.map(
    (r): OcsfObject =>
      compact({
        uid: r.id,
        type: r.type,
        name: r.name,
        region: r.region,
        owner: r.account ? { account: { uid: r.account } } : undefined,
      }),
  );
  const first = e.resources?.[0];
  if (clsName === 'authentication') {
    row.user = user;
    // The schema wants the service or the destination authenticated to: name it when unknown.
    row.service = { name: e.source?.service ?? 'unknown' };
  } else if (clsName === 'account_change') {
    // The account changed: the first resource, else (a self-service change) the actor's own.
    row.user = first
      ? compact({
          uid: first.id,
          name: first.name,
          account: first.account ? { uid: first.account } : undefined,
        })
      : user;
  } else if (clsName === 'entity_management') {
    // Entity Management has neither src_endpoint, http_request nor resources: one entity, the
    // first resource, and the rest of what the event says in unmapped.
    row.entity = compact({ uid: first?.id, name: first?.name, type: first?.type });
    row.src_endpoint = undefined;
    row.http_request = undefined;
    row.unmapped = unmapped(rec, {
      ...eventExtras(e),
      'event.source': e.source ? canonicalize(e.source) : undefined,
      'event.resources': (e.resources?.length ?? 0) > 1 ? canonicalize(e.resources) : undefined,
    });
  } else {
    row.api = compact({
      operation: e.action,
      service: e.source?.service ? { name: e.source.service } : undefined,
      request: e.correlationId ? { uid: e.correlationId } : undefined,
      response:
        e.outcome === 'failure' && e.reason
          ? compact({ error: e.reason.code, error_message: e.reason.message })
          : undefined,
    });
    row.resources = resources;
  }
  return compact(row) as OcsfRow;
}

function quarantineRow(rec: ExportRecord, q: QuarantineEntry, ctx: OcsfContext): OcsfRow {
  const cls = OCSF_CLASSES.base_event;
  const row: Record<string, OcsfValue | undefined> = {
    ...classification(cls, 99),
    activity_name: 'Quarantine',
    type_name: `${cls.caption}: Quarantine`,
    severity_id: SEVERITIES.medium,
    time: parseInstant(q.receivedAt, 'receivedAt').ms,
    message: `input refused at ingest and kept in quarantine: ${q.error.code}`,
    status_id: STATUS.failure.id,
    status: STATUS.failure.caption,
    status_code: q.error.code,
    status_detail: q.error.message,
    metadata: metadata(rec, ctx, { labels: ['auditlock:quarantine'], profiles: ['cloud'] }),
    cloud: compact({ provider: ctx.config.cloud.provider, region: ctx.config.cloud.region }),
    unmapped: unmapped(rec, {
      'auditlock.kind': 'quarantine',
      'quarantine.issues': canonicalize(q.error.issues),
      'quarantine.raw.encoding': q.raw.encoding,
      'quarantine.raw.data': q.raw.data,
      'quarantine.raw.size': String(q.raw.size),
      'quarantine.raw.truncated': String(q.raw.truncated),
      'quarantine.raw.sha256': q.raw.sha256,
    }),
  };
  return compact(row) as OcsfRow;
}

const STATUS = {
  success: { id: 1, caption: 'Success' },
  failure: { id: 2, caption: 'Failure' },
  unknown: { id: 0, caption: 'Unknown' },
} as const;

/** OCSF user `type_id`: 1 User, 3 System, 99 Other (with `type`), per objects/user.json. */
const USER_TYPE: Record<NonNullable<AuditEvent['actor']['type']>, number> = {
  user: 1,
  system: 3,
  role: 99,
  service: 99,
  anonymous: 99,
};

function classification(cls: OcsfClass, activityId: number): Record<string, OcsfValue> {
  const activity = activityCaption(cls, activityId);
  return {
    activity_id: activityId,
    activity_name: activity,
    category_uid: cls.categoryUid,
    category_name: cls.categoryName,
    class_uid: cls.classUid,
    class_name: cls.caption,
    type_uid: cls.classUid * 100 + activityId,
    type_name: `${cls.caption}: ${activity}`,
  };
}

function actorUser(e: AuditEvent): OcsfObject {
  const t = e.actor.type;
  return compact({
    uid: e.actor.id,
    name: e.actor.name,
    type_id: t ? USER_TYPE[t] : 0,
    type: t ? (USER_TYPE[t] === 99 ? t : t === 'user' ? 'User' : 'System') : 'Unknown',
    account: e.actor.account ? { uid: e.actor.account } : undefined,
  });
}

/**
 * The cloud the event happened in: the configured provider, the source's region (else the
 * configured one) and the actor's account (else the configured one).
 */
function cloudOf(e: AuditEvent, config: OcsfConfig): OcsfObject {
  const account = e.actor.account ?? config.cloud.accountId;
  return compact({
    provider: config.cloud.provider,
    region: e.source?.region ?? config.cloud.region,
    account: account ? { uid: account } : undefined,
  });
}

/**
 * Where the call came from. API Activity requires `src_endpoint`, and the schema requires one of
 * its identifying members: an event without a source gets `name: "unknown"`.
 */
function srcEndpoint(e: AuditEvent): OcsfObject {
  const s = e.source;
  const endpoint = compact({ ip: s?.ip, hostname: s?.host, svc_name: s?.service });
  return Object.keys(endpoint).length > 0 ? endpoint : { name: 'unknown' };
}

function metadata(
  rec: ExportRecord,
  ctx: OcsfContext,
  extra: Record<string, OcsfValue | undefined>,
): OcsfObject {
  return compact({
    version: OCSF_VERSION,
    product: { name: 'auditlock', vendor_name: 'auditlock', version: ctx.productVersion },
    log_provider: 'auditlock',
    log_name: rec.origin,
    // integer_t is 32 bits (Security Lake: int); a larger index is in unmapped only.
    sequence: rec.index <= 0x7fffffff ? rec.index : undefined,
    logged_time: parseInstant(rec.sealedAt, 'sealedAt').ms,
    ...extra,
  });
}

/** Event members no OCSF attribute takes. */
function eventExtras(e: AuditEvent): Record<string, string | undefined> {
  return {
    'auditlock.kind': 'event',
    'event.category': e.category,
    'event.actor.type': e.actor.type,
    'event.source.region': e.source?.region,
    'event.detail': e.detail === undefined ? undefined : canonicalize(e.detail),
  };
}

function unmapped(
  rec: ExportRecord,
  extra: Record<string, string | undefined>,
): Record<string, string> {
  const entry: Entry = rec.entry;
  const all: Record<string, string | undefined> = {
    'auditlock.log': rec.log,
    'auditlock.index': String(rec.index),
    'auditlock.leaf_hash': toHex(rec.leafHash),
    'auditlock.segment.seq': String(rec.seq),
    'auditlock.segment.key': rec.key,
    'auditlock.segment.version_id': rec.versionId,
    'auditlock.received_time': entry.receivedAt,
    'auditlock.delivery.source': entry.delivery?.source,
    'auditlock.delivery.id': entry.delivery?.id,
    ...extra,
    ...(entry.kind === 'sealed-event'
      ? {
          'auditlock.kind': 'sealed-event',
          'auditlock.sealed': canonicalize(
            entry.sealed.map((r) => ({ field: r.field, state: 'sealed', subject: r.subject })),
          ),
        }
      : {}),
  };
  return compact(all) as Record<string, string>;
}

/** Minutes east of UTC of an RFC 3339 time's zone (`Z`: 0). */
function zoneOffsetMinutes(time: string): number {
  const m = /([+-])(\d{2}):(\d{2})$/.exec(time);
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

/** `o` without its undefined members. */
function compact<T extends Record<string, unknown>>(o: T): OcsfObject {
  const out: OcsfObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v as OcsfValue;
  return out;
}
