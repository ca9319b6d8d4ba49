/**
 * What an entry may record of its delivery (docs/FORMAT.md §3): `{"source","id"?}` and nothing
 * else; `source` the transport (`[a-z0-9][a-z0-9._-]{0,31}`), `id` its record id, 1 to 512 UTF-16
 * code units without control characters or unpaired surrogates.
 *
 * The writer's check, by hand rather than as a zod schema, so that making an entry loads no zod
 * (entry-encode.ts, issue 14). entry.ts's schema reads stored deliveries with the same two
 * patterns, and test/core/delivery.test.ts holds the two to the same verdict on any value.
 */

import { describeValue, summarise } from './describe-value.js';
import type { Delivery } from './entry.js';
import { InputError, type InputIssue } from './errors.js';
import { MAX_DELIVERY_ID_LENGTH } from './limits.js';

/** A delivery's `source`. */
export const DELIVERY_SOURCE = /^[a-z0-9][a-z0-9._-]{0,31}$/;
/** A delivery's `id` (its length is bounded apart, by MAX_DELIVERY_ID_LENGTH). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: delivery ids refuse control characters
export const DELIVERY_ID_TEXT = /^[^\u0000-\u001f\u007f\uD800-\uDFFF]+$/u;

/**
 * `delivery` if it is one an entry may record: a copy with its members only.
 * @throws InputError `DELIVERY_INVALID`, with one issue per member that is wrong
 */
export function checkDelivery(delivery: Delivery): Delivery {
  const issues = deliveryIssues(delivery);
  if (issues.length > 0)
    throw new InputError('DELIVERY_INVALID', summarise('invalid delivery', issues), { issues });
  const { source, id } = delivery;
  return id === undefined ? { source } : { source, id };
}

function deliveryIssues(value: unknown): InputIssue[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [{ path: '', message: `expected an object, got ${describeValue(value)}` }];
  const issues: InputIssue[] = [];
  const { source, id, ...rest } = value as Record<string, unknown>;
  if (typeof source !== 'string')
    issues.push({ path: 'source', message: `expected text, got ${describeValue(source)}` });
  else if (!DELIVERY_SOURCE.test(source))
    issues.push({
      path: 'source',
      message: `expected [a-z0-9][a-z0-9._-]{0,31}, got ${describeValue(source)}`,
    });
  if (id !== undefined) {
    if (typeof id !== 'string')
      issues.push({ path: 'id', message: `expected text, got ${describeValue(id)}` });
    else if (id.length > MAX_DELIVERY_ID_LENGTH)
      issues.push({
        path: 'id',
        message: `expected at most ${MAX_DELIVERY_ID_LENGTH} characters, got ${id.length}`,
      });
    else if (!DELIVERY_ID_TEXT.test(id))
      issues.push({
        path: 'id',
        message: `expected text without control characters, got ${describeValue(id)}`,
      });
  }
  for (const key of Object.keys(rest))
    issues.push({ path: key, message: 'unexpected member (not allowed here)' });
  return issues;
}
