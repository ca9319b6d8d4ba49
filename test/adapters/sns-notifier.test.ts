/**
 * The SNS notifier (src/adapters/sns-notifier.ts): the subject and body forms SNS Publish accepts
 * (subject: at most 100 printable ASCII characters; message: at most 256 KiB), and a publish to a
 * topic on the AWS target delivered to an SQS queue subscribed to it, as an operator's ticket
 * queue would receive it.
 */
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  type SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  capBody,
  createSnsClient,
  MAX_SNS_BODY_BYTES,
  SnsNotifier,
  snsSubject,
} from '../../src/adapters/sns-notifier.js';
import { StorageError } from '../../src/core/errors.js';
import { awsTarget, rejectionOf } from '../helpers/aws.js';

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

describe('snsSubject', () => {
  it('keeps a printable ASCII subject as it is', () => {
    const s = 'auditlock: 3 finding(s) in s3://archive/prefix/';
    expect(snsSubject(s)).toBe(s);
  });

  it('replaces line breaks, controls and non-ASCII characters, one "?" per UTF-16 unit', () => {
    expect(snsSubject('Zoë\nÅngström\t\u0000x')).toBe('Zo???ngstr?m??x');
    expect(snsSubject('log 😀')).toBe('log ??');
  });

  it('trims, never answers empty, and cuts at 100 characters', () => {
    expect(snsSubject('  padded  ')).toBe('padded');
    expect(snsSubject('')).toBe('auditlock');
    expect(snsSubject(' \n ')).toBe('?');
    expect(snsSubject('   ')).toBe('auditlock');
    expect(snsSubject('a'.repeat(150))).toBe('a'.repeat(100));
  });
});

describe('capBody', () => {
  it('returns a body within the limit unchanged', () => {
    const body = 'one\ntwo\n';
    expect(capBody(body, utf8Length(body))).toBe(body);
  });

  it('cuts at the last line break within the limit and counts the lines left out', () => {
    // 100 lines of 9 bytes: the newline of line 10 is at byte 98, the last one within 100.
    const lines = Array.from({ length: 100 }, (_, i) => `line-${String(i).padStart(3, '0')}`);
    const body = `${lines.join('\n')}\n`;
    const capped = capBody(body, 100);
    expect(capped).toBe(
      `${lines.slice(0, 11).join('\n')}\n… 89 more line(s) not shown (SNS message limit); see the verifier's logs\n`,
    );
  });

  it('never splits a UTF-8 sequence when a line is longer than the limit', () => {
    const body = 'é'.repeat(100); // 200 bytes, no line break
    const capped = capBody(body, 51);
    const kept = capped.slice(0, capped.indexOf('\n'));
    expect(kept).toBe('é'.repeat(25));
    expect(capped).not.toContain('\uFFFD');
    expect(capped).toContain('… 1 more line(s) not shown');
  });

  it('keeps the largest real message under the SNS limit', () => {
    const line = `${'x'.repeat(99)}\n`;
    const body = line.repeat(3000); // 300,000 bytes
    const capped = capBody(body, MAX_SNS_BODY_BYTES);
    expect(utf8Length(capped)).toBeLessThanOrEqual(256 * 1024);
    expect(capped.startsWith(line.repeat(Math.floor(MAX_SNS_BODY_BYTES / 100)))).toBe(true);
    expect(capped).toContain(`… ${3000 - Math.floor(MAX_SNS_BODY_BYTES / 100)} more line(s)`);
  });
});

describe('SnsNotifier on the AWS target', () => {
  let sns: SNSClient;
  let sqs: SQSClient;
  let topicArn: string;
  let queueUrl: string;

  beforeAll(async () => {
    const region = awsTarget().region;
    sns = createSnsClient({ region });
    sqs = new SQSClient({ region });
    const name = `auditlock-it-notify-${Date.now()}`;
    topicArn = (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn as string;
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
    const queueArn = (
      await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn as string;
    // What SNS needs to deliver to the queue on AWS (the emulator does not check it).
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: {
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'sns.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: queueArn,
                Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
              },
            ],
          }),
        },
      }),
    );
    await sns.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }),
    );
  });

  afterAll(async () => {
    await Promise.allSettled([
      topicArn ? sns.send(new DeleteTopicCommand({ TopicArn: topicArn })) : undefined,
      queueUrl ? sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })) : undefined,
    ]);
  });

  it('publishes the subject and body in the forms SNS accepts, delivered to the subscribed queue', async () => {
    // Prepare
    const notifier = new SnsNotifier({ client: sns, topicArn });
    const body = 'OBJECT_DELETE_MARKER [log default, segment 4]: hidden\nLOG_TRUNCATED: shorter\n';
    // Act
    await notifier.publish({ subject: 'auditlock: 2 finding(s) in s3://bücket/', body });
    // Assess
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 2,
      }),
    );
    const delivered = (out.Messages ?? []).map(
      (m) => JSON.parse(m.Body as string) as { TopicArn: string; Subject: string; Message: string },
    );
    expect(delivered).toEqual([
      expect.objectContaining({
        TopicArn: topicArn,
        Subject: 'auditlock: 2 finding(s) in s3://b?cket/',
        Message: body,
      }),
    ]);
    expect(notifier.description).toBe(`SNS topic ${topicArn}`);
  });

  it('a topic that does not exist is NOTIFY_FAILED, not retryable', async () => {
    const missing = topicArn.replace(/[^:]+$/, 'auditlock-it-no-such-topic');
    const err = await rejectionOf(
      new SnsNotifier({ client: sns, topicArn: missing }).publish({ subject: 's', body: 'b' }),
    );
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code: 'NOTIFY_FAILED', retryable: false });
  });
});
