/**
 * The origin rule, re-stated for the deployment configuration. infra/ imports nothing from the
 * main package's src/, so this is a copy of a rule, not of code: it MUST accept exactly what
 * src/core/checkpoint.ts `isValidOrigin` accepts (a signed-note key name: no whitespace, Unicode
 * spaces included, no `+`; no C0/C1 control characters; no unpaired surrogates; 1-255 UTF-8
 * bytes). test/config.test.ts checks both against the same samples when the main package is built.
 */

/** Longest origin, in UTF-8 bytes (src/core/checkpoint.ts MAX_ORIGIN_BYTES). */
export const MAX_ORIGIN_BYTES = 255;

// signed-note §Format: a key name has no whitespace and no '+'.
const KEY_NAME_RE = /^[^\s+\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule forbids exactly these
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
// In `u` mode this class matches only unpaired surrogates.
const LONE_SURROGATE_RE = /[\uD800-\uDFFF]/u;

/** Whether `origin` is a checkpoint origin auditlock can sign under. */
export function isValidOrigin(origin: string): boolean {
  return (
    KEY_NAME_RE.test(origin) &&
    !CONTROL_RE.test(origin) &&
    !LONE_SURROGATE_RE.test(origin) &&
    Buffer.byteLength(origin, 'utf8') <= MAX_ORIGIN_BYTES
  );
}
