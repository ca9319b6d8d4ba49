/** Lambda handler for SQS (standard and FIFO) event source mappings with ReportBatchItemFailures. */
import type { SQSEvent } from 'aws-lambda';
import { mapSqsEvent } from '../../sources/sqs.js';
import { makeHandler } from '../handler.js';

export const handler = makeHandler<SQSEvent>('sqs', mapSqsEvent);
