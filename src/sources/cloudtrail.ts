/**
 * Reading CloudTrail's record fields (as EventBridge delivers them in `detail`) into audit-event
 * fields: who (`userIdentity`) and on what (`resources`, ARNs). Everything read here is also kept
 * whole in the event's `detail`, so a value that would not validate is left out, never guessed.
 *
 * userIdentity: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
 * ARNs: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
 */
import type { Actor, Resource } from '../core/event.js';
import { MAX_LONG_TEXT, MAX_RESOURCES, MAX_SHORT_TEXT, MAX_TEXT } from '../core/event.js';
import { asObject } from './items.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: what the event schema refuses in text
const CLEAN_TEXT = /^[^\u0000-\u001f\u007f\uD800-\uDFFF]+$/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above; TAB, LF, CR allowed
const CLEAN_PROSE = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\uD800-\uDFFF]+$/u;

/** `userIdentity.type` → `actor.type`; types not listed (`AWSAccount`, `Unknown`) get none. */
const ACTOR_TYPES = new Map<string, NonNullable<Actor['type']>>([
  ['Root', 'user'],
  ['IAMUser', 'user'],
  ['IdentityCenterUser', 'user'],
  ['FederatedUser', 'user'],
  ['SAMLUser', 'user'],
  ['WebIdentityUser', 'user'],
  ['Directory', 'user'],
  ['AssumedRole', 'role'],
  ['AWSService', 'service'],
]);

/** `value` if it is text the event schema accepts, 1 to `max` UTF-16 units; else undefined. */
export function exact(value: unknown, max = MAX_TEXT): string | undefined {
  return typeof value === 'string' && value.length <= max && CLEAN_TEXT.test(value)
    ? value
    : undefined;
}

/**
 * `value` clipped to `max` units (never between the halves of a surrogate pair), if it is
 * acceptable text; for copies of fields that `detail` keeps whole (user agents, error messages).
 * @param prose allow TAB, LF, CR (as `reason.message` does)
 */
export function clipText(value: unknown, max: number, prose = false): string | undefined {
  if (typeof value !== 'string') return undefined;
  let text = value.length > max ? value.slice(0, max) : value;
  if (/[\uD800-\uDBFF]$/.test(text) && value.length > max) text = text.slice(0, -1);
  return (prose ? CLEAN_PROSE : CLEAN_TEXT).test(text) ? text : undefined;
}

/**
 * The actor of a CloudTrail `userIdentity`: `id` the first usable of `arn`, `principalId`,
 * `invokedBy` (an AWS service), `accountId`; `name` the `userName`, or for an assumed role the
 * role's name (`sessionContext.sessionIssuer.userName`); `account` the `accountId`; `sessionId`
 * the `accessKeyId` (temporary credentials name one session). Undefined without a usable id.
 */
export function actorOf(value: unknown): Actor | undefined {
  const u = asObject(value);
  if (u === undefined) return undefined;
  const id = exact(u.arn) ?? exact(u.principalId) ?? exact(u.invokedBy) ?? exact(u.accountId);
  if (id === undefined) return undefined;
  const issuer = asObject(asObject(u.sessionContext)?.sessionIssuer);
  const actor: Actor = { id };
  const type = typeof u.type === 'string' ? ACTOR_TYPES.get(u.type) : undefined;
  const name = exact(u.userName) ?? exact(issuer?.userName);
  const account = exact(u.accountId);
  const sessionId = exact(u.accessKeyId);
  if (type !== undefined) actor.type = type;
  if (name !== undefined) actor.name = name;
  if (account !== undefined) actor.account = account;
  if (sessionId !== undefined) actor.sessionId = sessionId;
  return actor;
}

/**
 * Resources named by ARN: the envelope's `resources` (kept as given, so a bad one fails
 * validation rather than vanishing: the envelope has no other copy), then CloudTrail's
 * `detail.resources` (`{ ARN, accountId, type }`, skipped if unusable: `detail` keeps them), at
 * most {@link MAX_RESOURCES} in all, each ARN once. Undefined if there are none.
 */
export function resourcesOf(arns: readonly string[], trail: unknown): Resource[] | undefined {
  const byId = new Map<string, Resource>();
  for (const arn of arns) if (!byId.has(arn)) byId.set(arn, resourceOf(arn));
  for (const r of Array.isArray(trail) ? trail : []) {
    const o = asObject(r);
    const arn = exact(o?.ARN, MAX_LONG_TEXT);
    if (o === undefined || arn === undefined || byId.has(arn)) continue;
    if (byId.size >= MAX_RESOURCES) break;
    const resource = resourceOf(arn);
    // CloudTrail's own type name (`AWS::S3::Object`) is more precise than the ARN's service.
    const type = exact(o.type);
    const account = exact(o.accountId);
    if (type !== undefined) resource.type = type;
    if (account !== undefined) resource.account = account;
    byId.set(arn, resource);
  }
  return byId.size > 0 ? [...byId.values()] : undefined;
}

/**
 * `{ type: 'aws:<service>', id: arn, account?, region? }` from
 * `arn:<partition>:<service>:<region>:<account-id>:<resource>`; `aws:arn` if `arn` is not one.
 */
export function resourceOf(arn: string): Resource {
  const parts = arn.split(':');
  const service = parts[2] ?? '';
  if (parts.length < 6 || parts[0] !== 'arn' || !/^[a-z0-9-]+$/.test(service)) {
    return { type: 'aws:arn', id: arn };
  }
  const resource: Resource = { type: `aws:${service}`, id: arn };
  const region = exact(parts[3], MAX_SHORT_TEXT);
  const account = exact(parts[4]);
  if (account !== undefined) resource.account = account;
  if (region !== undefined) resource.region = region;
  return resource;
}
