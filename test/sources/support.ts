/** Shared by the source-mapper tests: fixture loading and compact views of mapped records. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { AuditEvent } from '../../src/core/event.js';
import type { SourceItem, SourceRecord } from '../../src/sources/types.js';

/** A Lambda event from test/fixtures/lambda (written by make-fixtures.mjs there). */
export function fixture<T = unknown>(name: string): T {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/lambda/${name}.json`, import.meta.url), 'utf8'),
  );
}

export const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64');

/** One line per item: `ok <delivery id>` or `<CODE> <delivery id>`, easy to compare whole. */
export function outline(records: readonly SourceRecord[]): string[][] {
  return records.map((r) =>
    r.items.map(
      (i) => `${i.ok ? 'ok' : i.error.code} ${i.delivery.source}:${i.delivery.id ?? '-'}`,
    ),
  );
}

/** The item, which must be accepted. */
export function accepted(item: SourceItem | undefined): AuditEvent {
  if (!item?.ok) throw new Error(`expected an accepted item, got ${item?.error.code ?? 'none'}`);
  return item.event;
}

/** The item, which must be rejected with `code`; returns it for checks of raw and issues. */
export function rejected(item: SourceItem | undefined, code: string) {
  if (item === undefined || item.ok) throw new Error('expected a rejected item');
  expect(item.error.code).toBe(code);
  return { ...item, paths: item.error.issues.map((i) => i.path), rawText: text(item.raw) };
}

export const allItems = (records: readonly SourceRecord[]): SourceItem[] =>
  records.flatMap((r) => r.items);
