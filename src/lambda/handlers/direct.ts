/** Lambda handler for direct invocation with an array of audit events (or `{ "events": [...] }`). */
import { type DirectEvent, mapDirectInvocation } from '../../sources/direct.js';
import { makeHandler } from '../handler.js';

export const handler = makeHandler<DirectEvent>('direct', mapDirectInvocation);
