/** Lambda handler for EventBridge rule targets (asynchronous invocation; failures are retried). */
import type { EventBridgeEvent } from 'aws-lambda';
import { mapEventBridgeEvent } from '../../sources/eventbridge.js';
import { makeHandler } from '../handler.js';

export const handler = makeHandler<EventBridgeEvent<string, unknown>>(
  'eventbridge',
  mapEventBridgeEvent,
);
