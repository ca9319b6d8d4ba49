/** How a value is shown in messages about invalid input: never the whole value, never raw. */

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
