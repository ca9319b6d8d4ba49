/** Lambda handler for direct invocation with an array of audit events (or `{ "events": [...] }`). */
import { mapDirectInvocation } from '../../sources/direct.js';
import { makeHandler } from '../handler.js';

export const handler = makeHandler<unknown>('direct', mapDirectInvocation);
