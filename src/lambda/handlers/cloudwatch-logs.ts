/** Lambda handler for CloudWatch Logs subscription filters (asynchronous invocation). */
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { mapCloudWatchLogsEvent } from '../../sources/cloudwatch-logs.js';
import { makeHandler } from '../handler.js';

export const handler = makeHandler<CloudWatchLogsEvent>('cloudwatch-logs', mapCloudWatchLogsEvent);
