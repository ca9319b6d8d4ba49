/**
 * Timestamps as entries and segment headers write them (docs/FORMAT.md §3): UTC milliseconds, always
 * `YYYY-MM-DDTHH:MM:SS.sssZ`, from 1970 to the end of 9999. Kept apart from entry.ts, which loads
 * zod, so that the worker threads of ingest and verify can format and read timestamps without it.
 */
import { InputError } from './errors.js';

/** 9999-12-31T23:59:59.999Z */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The last valid input of {@link formatTimestamp} and its result (`ms` NaN: none yet). */
let lastFormatted = { ms: Number.NaN, text: '' };

/**
 * `ms` as `YYYY-MM-DDTHH:MM:SS.sssZ`.
 * @throws InputError `TIMESTAMP_INVALID` unless `ms` is an integer from 0 to 9999-12-31T23:59:59.999Z
 */
export function formatTimestamp(ms: number): string {
  // At ingest rates consecutive entries share their millisecond: reuse the last text.
  if (ms === lastFormatted.ms) return lastFormatted.text;
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIMESTAMP_MS) {
    throw new InputError(
      'TIMESTAMP_INVALID',
      `expected integer milliseconds from 0 to ${MAX_TIMESTAMP_MS}, got ${ms}`,
    );
  }
  const text = new Date(ms).toISOString();
  lastFormatted = { ms, text };
  return text;
}

/**
 * Milliseconds since the epoch of a `YYYY-MM-DDTHH:MM:SS.sssZ` timestamp; nothing else is accepted.
 * @throws InputError `TIMESTAMP_INVALID` for another format or a date that does not exist
 */
export function parseTimestamp(text: string): number {
  const ms = TIMESTAMP.test(text) ? Date.parse(text) : Number.NaN;
  // Date.parse may roll impossible dates over (Feb 30 → Mar 2); the round trip catches that.
  if (Number.isNaN(ms) || ms < 0 || ms > MAX_TIMESTAMP_MS || new Date(ms).toISOString() !== text) {
    const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
    throw new InputError('TIMESTAMP_INVALID', `expected YYYY-MM-DDTHH:MM:SS.sssZ, got ${shown}`);
  }
  return ms;
}
