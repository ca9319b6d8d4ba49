/**
 * The text forms of event fields (the rules of event.ts's header): which characters text may
 * hold, RFC 3339 timestamps, IPv4 and IPv6 addresses. Shared by the zod schema (event.ts) and the
 * accept-only fast path (event-accept.ts), so each rule is written once.
 */

/** Text without C0 controls, DEL or unpaired surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them
export const CLEAN_TEXT = /^[^\u0000-\u001f\u007f\uD800-\uDFFF]*$/u;
/** As {@link CLEAN_TEXT}, but TAB, LF and CR are allowed (`reason.message`). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above, but tab, LF and CR are allowed
export const CLEAN_PROSE = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\uD800-\uDFFF]*$/u;
/** `id`, `correlationId`: U+0021 to U+007E. */
export const VISIBLE_ASCII = /^[\x21-\x7e]*$/;
/** Finds an unpaired surrogate (with the `u` flag a pair is one code point). */
export const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const IPV4_PART = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${IPV4_PART}(?:\\.${IPV4_PART}){3}$`);
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** Dotted-quad IPv4 (RFC 791 text form) without leading zeros, which some parsers read as octal. */
export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** IPv6 text form of RFC 4291 §2.2: eight groups, one `::`, an optional IPv4 tail; no zone id. */
export function isIpv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const gap = s.indexOf('::');
  if (gap !== s.lastIndexOf('::')) return false;
  const head = gap < 0 ? s : s.slice(0, gap);
  const tail = gap < 0 ? '' : s.slice(gap + 2);
  const groups = [...(head ? head.split(':') : []), ...(tail ? tail.split(':') : [])];
  // The IPv4 tail may only be the last group written, so not before a trailing `::`.
  const ipv4Allowed = gap < 0 || tail !== '';
  let count = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    if (HEX_GROUP.test(g)) count += 1;
    else if (i === groups.length - 1 && ipv4Allowed && isIpv4(g)) count += 2;
    else return false;
  }
  return gap < 0 ? count === 8 : count <= 7;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * RFC 3339 §5.6 `date-time` with upper-case `T` and `Z`, at most 9 fraction digits, and a date that
 * exists. Leap seconds (`:60`) are refused: producers' clocks smear them.
 */
export function isRfc3339(s: string): boolean {
  // A test and the fields read at their places, not `exec` and its array of captures: this runs
  // on every event (2% of ingest time). The pattern fixes where each field is.
  if (!RFC3339.test(s)) return false;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const zulu = s.charCodeAt(s.length - 1) === 0x5a; // Z, else an offset ±HH:MM at the end
  const offH = zulu ? 0 : digits(s, s.length - 5, 2);
  const offM = zulu ? 0 : digits(s, s.length - 2, 2);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    digits(s, 11, 2) <= 23 &&
    digits(s, 14, 2) <= 59 &&
    digits(s, 17, 2) <= 59 &&
    offH <= 23 &&
    offM <= 59
  );
}

/** The value of the `n` ASCII digits of `s` from `at`. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) v = 10 * v + s.charCodeAt(i) - 0x30;
  return v;
}

/** Days in `month` (1–12) of the proleptic Gregorian `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
