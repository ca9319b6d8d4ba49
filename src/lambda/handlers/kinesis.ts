/** Lambda handler for Kinesis Data Streams event source mappings with ReportBatchItemFailures. */
import type { KinesisStreamEvent } from 'aws-lambda';
import { mapKinesisEvent } from '../../sources/kinesis.js';
import { makeHandler } from '../handler.js';

export const handler = makeHandler<KinesisStreamEvent>('kinesis', mapKinesisEvent);
