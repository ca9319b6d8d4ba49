import type { EventBridgeEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MAX_DETAIL_BYTES, MAX_LONG_TEXT } from '../../src/core/event.js';
import { mapEventBridgeEvent } from '../../src/sources/eventbridge.js';
import { accepted, fixture, rejected } from './support.js';

type Event = EventBridgeEvent<string, Record<string, unknown>>;
const custom = fixture<Event>('eventbridge-custom');
const createUser = fixture<Event>('eventbridge-cloudtrail-create-user');
const accessDenied = fixture<Event>('eventbridge-cloudtrail-access-denied');
const ec2 = fixture<Event>('eventbridge-ec2-state-change');
const badDetail = fixture<Event>('eventbridge-bad-audit-detail');

/** Maps `event`, expecting exactly one record with one item; returns both. */
function mapOne(event: unknown) {
  const records = mapEventBridgeEvent(event as Event);
  expect(records).toHaveLength(1);
  const [record] = records;
  expect(record?.items).toHaveLength(1);
  return { record, item: record?.items[0] };
}

/** `createUser` with its CloudTrail detail changed. */
const trail = (detail: Record<string, unknown>): Event => ({
  ...createUser,
  detail: { ...createUser.detail, ...detail },
});

describe('mapEventBridgeEvent: an audit event in detail', () => {
  it('uses detail as is, delivered under the EventBridge event id', () => {
    const { record, item } = mapOne(custom);

    expect(accepted(item)).toEqual(custom.detail);
    expect(item?.delivery).toEqual({ source: 'eventbridge', id: custom.id });
    expect(record).toMatchObject({
      itemIdentifier: undefined,
      lane: undefined,
      maybeRedelivered: false,
    });
  });

  it('rejects an audit event that fails validation, with paths under detail and the envelope kept', () => {
    const { item } = mapOne(badDetail);

    const bad = rejected(item, 'EVENT_INVALID');
    expect(bad.paths).toEqual(['detail.actor.id']);
    expect(JSON.parse(bad.rawText)).toEqual(badDetail);
    expect(bad.delivery).toEqual({ source: 'eventbridge', id: badDetail.id });
  });
});

describe('mapEventBridgeEvent: CloudTrail through EventBridge', () => {
  it('maps a CreateUser call by an assumed role', () => {
    expect(accepted(mapOne(createUser).item)).toEqual({
      id: '6f1a3a5e-8c2b-4d0a-9f3e-2b7c1d4e5f60',
      time: '2026-11-01T09:14:07Z',
      action: 'iam:CreateUser',
      actor: {
        id: 'arn:aws:sts::123456789012:assumed-role/AdminRole/alice@example.com',
        type: 'role',
        name: 'AdminRole',
        account: '123456789012',
        sessionId: 'ASIA3EXAMPLEKEY12345',
      },
      outcome: 'success',
      source: {
        ip: '203.0.113.24',
        userAgent: createUser.detail.userAgent,
        region: 'us-east-1',
        service: 'aws.iam',
      },
      correlationId: '0f5c8e2a-3b1d-4e6f-9a7c-8d2e1f0b3c4a',
      detail: {
        account: '123456789012',
        'detail-type': 'AWS API Call via CloudTrail',
        detail: createUser.detail,
      },
    });
  });

  it('maps AccessDenied to a failure with its reason; a service name is not an ip', () => {
    const event = accepted(mapOne(accessDenied).item);

    expect(event.outcome).toBe('failure');
    expect(event.reason).toEqual({
      code: 'AccessDenied',
      message: accessDenied.detail.errorMessage,
    });
    expect(event.actor).toEqual({
      id: 'arn:aws:iam::123456789012:user/bob',
      type: 'user',
      name: 'bob',
      account: '123456789012',
      sessionId: 'AKIA3EXAMPLEBOBKEY12',
    });
    expect(event.source).toEqual({
      userAgent: 'cloudformation.amazonaws.com',
      region: 'us-east-1',
      service: 'aws.iam',
    });
  });

  it('maps a failed console sign-in, which has no errorCode', () => {
    const signIn = {
      ...trail({
        eventSource: 'signin.amazonaws.com',
        eventName: 'ConsoleLogin',
        errorMessage: 'Failed authentication',
        responseElements: { ConsoleLogin: 'Failure' },
      }),
      'detail-type': 'AWS Console Sign In via CloudTrail',
      source: 'aws.signin',
    };

    const event = accepted(mapOne(signIn).item);

    expect(event.action).toBe('signin:ConsoleLogin');
    expect(event.outcome).toBe('failure');
    expect(event.reason).toEqual({ message: 'Failed authentication' });
  });

  it('names an AWS service actor by invokedBy', () => {
    const event = trail({ userIdentity: { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' } });
    expect(accepted(mapOne(event).item).actor).toEqual({
      id: 'ec2.amazonaws.com',
      type: 'service',
    });
  });

  it('falls back to principalId when the ARN is too long for actor.id', () => {
    const identity = {
      type: 'IAMUser',
      arn: `arn:aws:iam::123456789012:user/${'p/'.repeat(200)}x`,
      principalId: 'AIDAEXAMPLE',
    };
    expect(accepted(mapOne(trail({ userIdentity: identity })).item).actor).toEqual({
      id: 'AIDAEXAMPLE',
      type: 'user',
    });
  });

  it("reads CloudTrail's resources, with their own type, each ARN once", () => {
    const event = {
      ...trail({
        resources: [
          { accountId: '123456789012', type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::trade-blotter' },
          { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::trade-blotter/exports/a.json' },
          { ARN: 'arn:aws:s3:::trade-blotter' },
          { ARN: 42 },
        ],
      }),
      resources: ['arn:aws:s3:::trade-blotter'],
    };

    expect(accepted(mapOne(event).item).resources).toEqual([
      { type: 'aws:s3', id: 'arn:aws:s3:::trade-blotter' },
      { type: 'AWS::S3::Object', id: 'arn:aws:s3:::trade-blotter/exports/a.json' },
    ]);
  });

  it('clips a user agent and an error message that are too long (detail keeps them whole)', () => {
    const long = 'a'.repeat(MAX_LONG_TEXT + 10);
    const event = accepted(
      mapOne(trail({ userAgent: long, errorCode: 'Throttling', errorMessage: `${long}\nmore` }))
        .item,
    );

    expect(event.source?.userAgent).toHaveLength(MAX_LONG_TEXT);
    expect(event.reason?.message).toHaveLength(MAX_LONG_TEXT);
    expect(event.detail?.detail).toMatchObject({ userAgent: long });
  });

  it('counts any errorCode as a failure, even one that cannot be copied', () => {
    const event = accepted(
      mapOne(trail({ errorCode: 'Bad\u0000Code', errorMessage: undefined })).item,
    );
    expect(event.outcome).toBe('failure');
    expect(event.reason).toBeUndefined();
  });

  it('leaves out a requestID that is not a visible-ASCII token', () => {
    expect(accepted(mapOne(trail({ requestID: 'has space' })).item).correlationId).toBeUndefined();
  });
});

describe('mapEventBridgeEvent: other events', () => {
  it('maps an AWS service event: action, service actor, resources from ARNs, outcome unknown', () => {
    expect(accepted(mapOne(ec2).item)).toEqual({
      id: '7bf73129-1428-4cd3-a780-95db273d1602',
      time: '2026-11-01T01:02:03Z',
      action: 'aws.ec2:EC2 Instance State-change Notification',
      actor: { id: 'aws.ec2', type: 'service' },
      resources: [
        {
          type: 'aws:ec2',
          id: 'arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0',
          account: '123456789012',
          region: 'us-east-1',
        },
      ],
      outcome: 'unknown',
      source: { region: 'us-east-1', service: 'aws.ec2' },
      detail: {
        account: '123456789012',
        'detail-type': 'EC2 Instance State-change Notification',
        detail: ec2.detail,
      },
    });
  });

  it('types a resource that is not an ARN as aws:arn', () => {
    const event = { ...ec2, resources: ['i-1234567890abcdef0'] };
    expect(accepted(mapOne(event).item).resources).toEqual([
      { type: 'aws:arn', id: 'i-1234567890abcdef0' },
    ]);
  });

  it('flags an archive replay as a possible redelivery and records its name', () => {
    const { record, item } = mapOne({ ...ec2, 'replay-name': 'incident-2026-11-01' });

    expect(record?.maybeRedelivered).toBe(true);
    expect(accepted(item).detail?.['replay-name']).toBe('incident-2026-11-01');
  });

  it('rejects an envelope whose mapped event is too large, keeping the envelope', () => {
    const event = { ...ec2, detail: { blob: 'x'.repeat(MAX_DETAIL_BYTES) } };

    const bad = rejected(mapOne(event).item, 'EVENT_INVALID');

    expect(bad.paths).toEqual(['detail']);
    expect(JSON.parse(bad.rawText)).toEqual(event);
  });

  it('rejects an envelope resource that cannot be stored, rather than dropping it', () => {
    const bad = rejected(
      mapOne({ ...ec2, resources: ['arn:aws:s3:::a\u0001b'] }).item,
      'EVENT_INVALID',
    );
    expect(bad.paths).toEqual(['resources.0.id']);
  });
});

describe('mapEventBridgeEvent: malformed envelopes', () => {
  it('names every missing or mistyped member', () => {
    const { 'detail-type': _, ...noType } = ec2;
    const event = { ...noType, time: 1793492523, detail: 'text', resources: [1], region: null };

    const bad = rejected(mapOne(event).item, 'RECORD_INVALID');

    expect(bad.paths).toEqual(['time', 'detail-type', 'detail', 'resources', 'region']);
    expect(JSON.parse(bad.rawText)).toEqual(event);
  });

  it('rejects a non-object as one item without a delivery id', () => {
    for (const value of [null, 'event', 7, []]) {
      const bad = rejected(mapOne(value).item, 'RECORD_INVALID');
      expect(bad.paths).toEqual(['']);
      expect(bad.delivery).toEqual({ source: 'eventbridge' });
    }
  });

  it('rejects an event id that is not a valid audit-event id, keeping the envelope', () => {
    const bad = rejected(mapOne({ ...ec2, id: 'not an id' }).item, 'EVENT_INVALID');
    expect(bad.paths).toEqual(['id']);
    expect(bad.delivery).toEqual({ source: 'eventbridge', id: 'not an id' });
  });
});
