/**
 * Strict JSON for producer input: RFC 8259 text that JSON.parse accepts, minus the texts it would
 * silently change, so that what is sealed is what was received.
 *
 * - Duplicate member names (RFC 8259 §4: names SHOULD be unique; RFC 7493 §2.3: MUST be) are
 *   refused: JSON.parse keeps the last one, so `"outcome":"success","outcome":"failure"` would be
 *   stored as a failure. Names are compared after unescaping (`"a"` and `"\u0061"` are one name).
 * - Numbers must be kept exactly (RFC 7493 §2.2): a number's decimal value must equal the value of
 *   the IEEE 754 double it parses to, written as RFC 8785 writes it (so `1e-400`, which becomes 0,
 *   `1e400`, which overflows, and `3.141592653589793238` are refused), and a number written as an
 *   integer (no fraction, no exponent) must lie within ±(2^53 − 1), the range of integers that
 *   every implementation reads exactly.
 *
 * The check runs beside JSON.parse (a scan of the text outside strings plus a count of the parsed
 * members) rather than in a parser of its own: JSON.parse is native and several times faster.
 */
import { InputError, type InputIssue } from './errors.js';

/** Codes of {@link parseJsonStrict}. Part of the public interface: never rename one. */
export const STRICT_JSON_CODES = [
  /** Not one JSON value (what JSON.parse refuses). */
  'JSON_INVALID',
  /** An object has two members with the same name. */
  'JSON_DUPLICATE_MEMBER',
  /** A number whose value a double cannot keep exactly, or an integer beyond ±(2^53 − 1). */
  'JSON_NUMBER_INEXACT',
] as const;
export type StrictJsonCode = (typeof STRICT_JSON_CODES)[number];

/**
 * Parses one JSON text strictly (see the module comment).
 * @param location where the text came from, for the message, e.g. `line 12`
 * @throws InputError `JSON_INVALID`, `JSON_DUPLICATE_MEMBER` or `JSON_NUMBER_INEXACT`
 */
export function parseJsonStrict(text: string, location: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new InputError('JSON_INVALID', `${location}: expected one JSON value, got ${detail}`, {
      cause,
      location,
    });
  }
  // The text is valid JSON from here on, which the scans below rely on.
  const members = scanText(text, location);
  if (members !== countMembers(value)) throw duplicateError(text, location);
  return value;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const MINUS = 0x2d;

/** Index of the quote closing the string that opens at `start` (valid JSON text). */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let slashes = 0;
    while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

/**
 * Checks every number outside strings and returns the number of object members written in the
 * text (one `:` outside strings per member).
 * @throws InputError `JSON_NUMBER_INEXACT`
 */
function scanText(text: string, location: string): number {
  let members = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(text, i);
    else if (c === COLON) members++;
    else if (c === MINUS || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let integer = true;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) continue;
        if (!isNumberChar(d)) break;
        integer = false;
      }
      // Up to 15 digits written as an integer: always exact (the fast, common case).
      if (!integer || j - i > 15) checkNumber(text.slice(i, j), location);
      i = j - 1;
    }
  }
  return members;
}

function isNumberChar(c: number): boolean {
  // digits . + - e E
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2b || c === MINUS || (c | 0x20) === 0x65;
}

/** @throws InputError `JSON_NUMBER_INEXACT` unless `literal` is kept exactly. */
function checkNumber(literal: string, location: string): void {
  const value = Number(literal);
  // Written as JavaScript (and RFC 8785) writes it: exact, unless an integer beyond 2^53 − 1.
  if (String(value) === literal && (/[.eE]/.test(literal) || Number.isSafeInteger(value))) return;
  let why: string | undefined;
  if (!Number.isFinite(value)) why = 'is too large for a double';
  else if (!/[.eE]/.test(literal) && !Number.isSafeInteger(value))
    why = 'is an integer beyond ±(2^53 − 1) (RFC 7493 §2.2)';
  else if (decimalOf(literal) !== decimalOf(String(value)))
    why = `cannot be kept exactly: it would be stored as ${String(value)}`;
  if (why === undefined) return;
  const shown = literal.length > 40 ? `${literal.slice(0, 40)}…` : literal;
  const message = `number ${shown} ${why}`;
  throw new InputError('JSON_NUMBER_INEXACT', `${location}: ${message}`, {
    location,
    issues: [{ path: '', message }],
  });
}

/**
 * The decimal value of a number literal as `<sign><digits>e<exponent>` with no leading or trailing
 * zero digit (zero is `0`, whatever its sign or exponent), so equal values give equal strings.
 */
function decimalOf(literal: string): string {
  const m = /^(-?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(literal);
  if (!m) return literal;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  let digits = int + frac;
  let exponent = Number(exp) - frac.length;
  const lead = digits.search(/[^0]/);
  if (lead < 0) return '0';
  digits = digits.slice(lead);
  const trail = digits.length - (digits.match(/0*$/)?.[0].length ?? 0);
  exponent += digits.length - trail;
  return `${sign}${digits.slice(0, trail)}e${exponent}`;
}

/** Members of every object in a parsed value (iteratively: nesting may be deep). */
function countMembers(value: unknown): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v) if (typeof item === 'object' && item !== null) stack.push(item);
      continue;
    }
    // for-in: JSON.parse makes plain objects (no inherited enumerable members), and it is faster.
    for (const key in v) {
      count++;
      const item = (v as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) stack.push(item);
    }
  }
  return count;
}

type Frame = { names?: Set<string>; path: string; index: number; key?: string };

/**
 * The error for a text whose parsed value has fewer members than the text: the slow path, which
 * finds the first repeated name and its dotted path.
 */
function duplicateError(text: string, location: string): InputError {
  const stack: Frame[] = [];
  const pathOf = (frame: Frame | undefined, child: string) =>
    frame === undefined || frame.path === '' ? child : `${frame.path}.${child}`;
  let name = '';
  let path = '';
  for (let i = 0; i < text.length && path === ''; i++) {
    const c = text[i];
    const top = stack.at(-1);
    if (c === '{' || c === '[') {
      const child = top === undefined ? '' : top.names ? (top.key ?? '') : String(top.index);
      const frame: Frame = { path: top === undefined ? '' : pathOf(top, child), index: 0 };
      if (c === '{') frame.names = new Set();
      stack.push(frame);
    } else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && top && !top.names) top.index++;
    else if (c === '"') {
      const end = stringEnd(text, i);
      let j = end + 1;
      while (/\s/.test(text[j] ?? '')) j++;
      if (top?.names && text[j] === ':') {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.names.has(key)) {
          name = key;
          path = pathOf(top, key);
        }
        top.names.add(key);
        top.key = key;
      }
      i = end;
    }
  }
  const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
  const issue: InputIssue = {
    path,
    message: `member name ${shown} appears more than once in one object (RFC 8259 §4)`,
  };
  return new InputError('JSON_DUPLICATE_MEMBER', `${location}: ${issue.path}: ${issue.message}`, {
    location,
    issues: [issue],
  });
}
