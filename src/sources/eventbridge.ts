/**
 * Amazon EventBridge (rule target) → source records. One event is one record with one item:
 * either the audit event a producer put in `detail`, or an audit event mapped from the envelope,
 * with CloudTrail's fields (`AWS API Call via CloudTrail`) read for actor, action and outcome.
 *
 * Envelope: https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html
 * CloudTrail record: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { InputError, type InputIssue } from '../core/errors.js';
import {
  type AuditEvent,
  isIpv4,
  isIpv6,
  MAX_LONG_TEXT,
  MAX_TEXT,
  parseEvent,
  summarise,
} from '../core/event.js';
import { actorOf, clipText, resourcesOf } from './cloudtrail.js';
import {
  asInputError,
  asObject,
  asString,
  deliveryOf,
  expected,
  guard,
  type Origin,
  rawOf,
  recordInvalid,
  rejectedRecord,
  rejectItem,
} from './items.js';
import type { SourceItem, SourceRecord } from './types.js';

/** Envelope members an audit event needs; EventBridge always sends them. */
const REQUIRED = ['id', 'time', 'source', 'detail-type'] as const;

/**
 * The record of one EventBridge event (`itemIdentifier` undefined: Lambda retries the whole
 * asynchronous invocation). Delivery: `{ source: 'eventbridge', id: <event id> }`.
 * `maybeRedelivered` is true for an archive replay (`replay-name` present), which by definition
 * sends events again.
 *
 * The item:
 * 1. `detail` is an audit event (it has `action` and `actor`): used as is if it validates, else
 *    rejected (`EVENT_INVALID`, issue paths under `detail.`), so a producer's mistake is seen
 *    rather than wrapped into a generic event.
 * 2. Otherwise the envelope is mapped: `id`, `time`; `action` `<source>:<detail-type>`, or for a
 *    CloudTrail event (`… via CloudTrail`) `<service>:<eventName>` (`iam:CreateUser`); `actor` from
 *    `detail.userIdentity`, else `{ id: <source>, type: 'service' }`; `resources` from the
 *    envelope's ARNs and CloudTrail's `detail.resources`; `outcome` `failure` with `reason` when
 *    CloudTrail reports an `errorCode` (or a failed console sign-in), `success` for other CloudTrail
 *    events, `unknown` otherwise; `source` `{ region, service: <source>, ip, userAgent }`;
 *    `correlationId` CloudTrail's `requestID`; `detail` `{ account, detail-type, detail,
 *    replay-name? }`. Derived optional fields that would not validate (an over-long user agent, a
 *    `sourceIPAddress` that is a service name) are left out or clipped; `detail` keeps the original.
 *
 * Never throws: an envelope without `id`, `time`, `source`, `detail-type` or an object `detail`
 * is rejected (`RECORD_INVALID`); a mapped event that fails validation (a `detail` over 64 KiB)
 * is rejected (`EVENT_INVALID`, paths of the mapped event). Both keep the envelope's JSON.
 */
export function mapEventBridgeEvent(event: EventBridgeEvent<string, unknown>): SourceRecord[] {
  const id = asString(asObject(event)?.id);
  const origin: Origin = {
    source: 'eventbridge',
    id,
    location: `eventbridge event ${id ?? '(no id)'}`,
  };
  return [
    guard(
      () => readEnvelope(event, origin),
      (e) => rejectedRecord(event, e, origin),
      origin.location,
    ),
  ];
}

function readEnvelope(value: unknown, origin: Origin): SourceRecord {
  const envelope = asObject(value);
  const item = itemOf(value, envelope, origin);
  return {
    itemIdentifier: undefined,
    lane: undefined,
    maybeRedelivered: envelope?.['replay-name'] !== undefined,
    items: [item],
  };
}

function itemOf(
  value: unknown,
  envelope: Record<string, unknown> | undefined,
  origin: Origin,
): SourceItem {
  const issues = envelopeIssues(value, envelope);
  if (envelope === undefined || issues.length > 0) {
    return rejectItem(rawOf(value), recordInvalid(origin.location, issues), origin);
  }
  const detail = envelope.detail as Record<string, unknown>;
  const delivery = deliveryOf(origin.source, origin.id);
  if ('action' in detail && 'actor' in detail) {
    try {
      return { ok: true, event: parseEvent(detail, origin.location), delivery };
    } catch (e) {
      const error = asInputError(e, origin.location);
      const under = error.issues.map((i) => ({
        path: i.path === '' ? 'detail' : `detail.${i.path}`,
        message: i.message,
      }));
      const what = summarise('detail is not a valid audit event', under, origin.location);
      const moved = new InputError(error.code, what, {
        location: origin.location,
        issues: under,
        cause: e,
      });
      return rejectItem(rawOf(value), moved, origin);
    }
  }
  try {
    return {
      ok: true,
      event: parseEvent(mapEnvelope(envelope, detail), origin.location),
      delivery,
    };
  } catch (e) {
    return rejectItem(rawOf(value), asInputError(e, origin.location), origin);
  }
}

function envelopeIssues(
  value: unknown,
  envelope: Record<string, unknown> | undefined,
): InputIssue[] {
  if (envelope === undefined) return [expected('', 'an EventBridge event object', value)];
  const issues: InputIssue[] = [];
  for (const key of REQUIRED) {
    if (typeof envelope[key] !== 'string') issues.push(expected(key, 'a string', envelope[key]));
  }
  // PutEvents: "Detail: A valid JSON object".
  if (asObject(envelope.detail) === undefined) {
    issues.push(expected('detail', 'a JSON object', envelope.detail));
  }
  const resources = envelope.resources;
  if (
    resources !== undefined &&
    !(Array.isArray(resources) && resources.every((r) => typeof r === 'string'))
  ) {
    issues.push(expected('resources', 'an array of ARNs', resources));
  }
  for (const key of ['region', 'account', 'replay-name']) {
    const member = envelope[key];
    if (member !== undefined && typeof member !== 'string') {
      issues.push(expected(key, 'a string', member));
    }
  }
  return issues;
}

/**
 * The audit event for an envelope that does not carry one; validated by the caller. Required
 * members are copied as they are, so a bad one fails validation rather than being patched.
 */
function mapEnvelope(envelope: Record<string, unknown>, detail: Record<string, unknown>): unknown {
  const source = envelope.source as string;
  const detailType = envelope['detail-type'] as string;
  const trail = cloudTrailOf(detailType, detail);
  const ip = asString(detail.sourceIPAddress);
  const event: Record<string, unknown> = {
    id: envelope.id,
    time: envelope.time,
    action: trail ? `${trail.service}:${trail.eventName}` : `${source}:${detailType}`,
    actor: actorOf(detail.userIdentity) ?? { id: source, type: 'service' },
    resources: resourcesOf(
      (envelope.resources as string[] | undefined) ?? [],
      trail ? detail.resources : undefined,
    ),
    outcome: 'unknown',
    source: compact({
      // Envelope members are copied as they are: `detail` has no other copy of them.
      region: envelope.region,
      service: source,
      ip: ip !== undefined && (isIpv4(ip) || isIpv6(ip)) ? ip : undefined,
      userAgent: clipText(detail.userAgent, MAX_LONG_TEXT),
    }),
    detail: compact({
      account: envelope.account,
      'detail-type': detailType,
      detail,
      'replay-name': envelope['replay-name'],
    }),
  };
  if (trail) {
    Object.assign(event, outcomeOf(detail));
    const requestId = asString(detail.requestID);
    if (requestId !== undefined && /^[\x21-\x7e]{1,128}$/.test(requestId)) {
      event.correlationId = requestId;
    }
  }
  return compact(event);
}

/**
 * CloudTrail's `eventSource` and `eventName` when the event came through CloudTrail
 * (`AWS API Call via CloudTrail`, `AWS Console Sign In via CloudTrail`, …).
 */
function cloudTrailOf(
  detailType: string,
  detail: Record<string, unknown>,
): { service: string; eventName: string } | undefined {
  const eventSource = asString(detail.eventSource);
  const eventName = asString(detail.eventName);
  if (!detailType.endsWith('via CloudTrail') || !eventSource || !eventName) return undefined;
  // `iam.amazonaws.com` → `iam`, the prefix IAM policies use for the service's actions.
  return { service: eventSource.replace(/\.amazonaws\.com$/, ''), eventName };
}

/**
 * CloudTrail records a failed call with `errorCode` (and usually `errorMessage`); a failed console
 * sign-in has none, only `responseElements.ConsoleLogin: "Failure"`
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html).
 * Any `errorCode` means failure, even one too odd to copy into `reason.code`.
 */
function outcomeOf(detail: Record<string, unknown>): Pick<AuditEvent, 'outcome' | 'reason'> {
  const hasError = detail.errorCode !== undefined && detail.errorCode !== null;
  const signInFailed = asObject(detail.responseElements)?.ConsoleLogin === 'Failure';
  if (!hasError && !signInFailed) return { outcome: 'success' };
  const code = clipText(detail.errorCode, MAX_TEXT);
  const message = clipText(detail.errorMessage, MAX_LONG_TEXT, true);
  return code === undefined && message === undefined
    ? { outcome: 'failure' }
    : { outcome: 'failure', reason: compact({ code, message }) };
}

/** `o` without its undefined members (which an event parsed from JSON would not have). */
function compact<T extends Record<string, unknown>>(o: T): T {
  for (const key of Object.keys(o)) if (o[key] === undefined) delete o[key];
  return o;
}
