/**
 * {@link Notifier} backed by an Amazon SNS topic: the scheduled verifier publishes its findings
 * there, and the topic's subscriptions (e-mail, a chat hook, a ticket queue) carry them to people.
 *
 * SNS limits (Publish): a subject of at most 100 printable ASCII characters, a message of at most
 * 256 KiB. The subject is reduced to that form; a longer body is cut at a line boundary with a note
 * saying how much was left out (the findings are also in the verifier's logs and metrics).
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { StorageError } from '../core/errors.js';
import type { Notifier } from '../core/ports.js';
import {
  type AwsClientOptions,
  awsErrorFacts,
  commonConfig,
  isTransientAwsError,
} from './aws-config.js';
import { describeAwsError } from './s3-errors.js';

/** SNS's message limit is 262,144 bytes; stay below it with room for the cut note. */
export const MAX_SNS_BODY_BYTES = 256 * 1024 - 1024;
const MAX_SUBJECT = 100;

/** An SNS client with the settings of the other clients (aws-config.ts). */
export function createSnsClient(options: AwsClientOptions = {}): SNSClient {
  return new SNSClient(commonConfig(options));
}

export class SnsNotifier implements Notifier {
  readonly description: string;
  readonly #client: SNSClient;
  readonly #topicArn: string;

  constructor(options: { readonly client: SNSClient; readonly topicArn: string }) {
    this.#client = options.client;
    this.#topicArn = options.topicArn;
    this.description = `SNS topic ${options.topicArn}`;
  }

  /**
   * Publishes one message.
   * @throws StorageError `NOTIFY_FAILED` (`retryable` for throttling, 5xx and network errors)
   */
  async publish(message: { readonly subject: string; readonly body: string }): Promise<void> {
    try {
      await this.#client.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          Subject: snsSubject(message.subject),
          Message: capBody(message.body, MAX_SNS_BODY_BYTES),
        }),
      );
    } catch (err) {
      const facts = awsErrorFacts(err);
      throw new StorageError(
        'NOTIFY_FAILED',
        `sns:Publish to ${this.#topicArn} failed: ${describeAwsError(err)}`,
        { retryable: isTransientAwsError(err) || facts.status === undefined, cause: err },
      );
    }
  }
}

/** A subject SNS accepts: printable ASCII, no line breaks, at most 100 characters, not empty. */
export function snsSubject(subject: string): string {
  const ascii = subject.replace(/[^\x20-\x7e]/g, '?').trim();
  return (ascii || 'auditlock').slice(0, MAX_SUBJECT);
}

/** `body` cut at a line boundary to at most `maxBytes` UTF-8 bytes, saying what was left out. */
export function capBody(body: string, maxBytes: number): string {
  const bytes = Buffer.from(body, 'utf8');
  if (bytes.length <= maxBytes) return body;
  let cut = bytes.lastIndexOf(0x0a, maxBytes);
  if (cut <= 0) cut = maxBytes;
  // Never split a UTF-8 sequence: back up to a character start.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--;
  const kept = bytes.subarray(0, cut).toString('utf8');
  const rest = body
    .slice(kept.length)
    .split('\n')
    .filter((l) => l !== '').length;
  return `${kept}\n… ${rest} more line(s) not shown (SNS message limit); see the verifier's logs\n`;
}
