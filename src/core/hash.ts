/**
 * The one SHA-256 used everywhere. Two implementations compute the same function:
 * `node:crypto` (OpenSSL, measured ~2.5x faster per 1 KB event on Node) and `@noble/hashes`
 * (portable, audited pure JS). `sha256` picks `node:crypto` when it exists; `test/core/hash.test.ts`
 * proves both agree on NIST vectors and random inputs, and `npm run bench` re-measures the choice.
 */
import { createHash } from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export const HASH_SIZE = 32;

/** SHA-256 over the concatenation of `parts`, with node:crypto. */
export function sha256Node(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** SHA-256 over the concatenation of `parts`, with @noble/hashes. */
export function sha256Noble(...parts: Uint8Array[]): Uint8Array {
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-256 over the concatenation of `parts`. */
export const sha256: (...parts: Uint8Array[]) => Uint8Array = sha256Node;

/** Constant-shape equality of two byte strings (not secret-dependent here; just exact). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
