/**
 * How a value is shown in messages about invalid input (never the whole value, never raw), and how
 * a list of issues is summed up in one line. Loads no zod: the writer's hand-written checks
 * (delivery.ts) word their messages as the schemas' do.
 */
import type { InputIssue } from './errors.js';

/** A short, safe rendering of a value for messages: type, and up to 40 characters of text. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') {
    const short = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return value === '' ? 'empty string' : `string ${JSON.stringify(short)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

/** One-line summary naming the first few issues; the full list stays in `issues`. */
export function summarise(what: string, issues: readonly InputIssue[], location?: string): string {
  const shown = issues.slice(0, 5).map((i) => `${i.path || '(top level)'}: ${i.message}`);
  if (issues.length > 5) shown.push(`and ${issues.length - 5} more`);
  return `${location ? `${location}: ` : ''}${what}: ${shown.join('; ')}`;
}
