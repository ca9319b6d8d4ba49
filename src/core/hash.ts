/**
 * The one SHA-256 used everywhere. Three implementations compute the same function:
 *
 * - `sha256NodeOneShot`: node:crypto's one-shot `crypto.hash` (OpenSSL, Node >= 20.12). Parts are
 *   copied into a reusable scratch buffer first, and the digest comes back as a 32-character
 *   latin1 (`'binary'`) string copied into a small `Uint8Array`: creating a `Buffer` for every digest is what
 *   dominates hashing a 65-byte Merkle node, not the compression function.
 * - `sha256Node`: node:crypto's incremental `createHash` (no copy of large parts).
 * - `sha256Noble`: `@noble/hashes` (portable, audited pure JS).
 *
 * `sha256` is `sha256NodeOneShot`, chosen by measurement: `npm run bench` (bench/hash.mjs) found it
 * 1.6-1.8x faster than `sha256Node` per 1 KB event and 3-5x per 65-byte Merkle node, and
 * re-measures the choice on every run (docs/PERFORMANCE.md). `test/core/hash.test.ts` proves all
 * three agree on NIST vectors and on random inputs split into random parts.
 */
import { createHash, hash } from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export const HASH_SIZE = 32;

/** Inputs up to this many bytes in several parts are joined in `scratch` for one one-shot call. */
const SCRATCH_SIZE = 16 * 1024;
const scratch = new Uint8Array(SCRATCH_SIZE);

/** SHA-256 over the concatenation of `parts`, with node:crypto's incremental `createHash`. */
export function sha256Node(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * SHA-256 over the concatenation of `parts`, with node:crypto's one-shot `crypto.hash`. Several
 * parts larger than 16 KiB together go to {@link sha256Node} instead (no copy).
 */
export function sha256NodeOneShot(...parts: Uint8Array[]): Uint8Array {
  let data: Uint8Array;
  if (parts.length === 1) data = parts[0] as Uint8Array;
  else {
    let size = 0;
    for (const p of parts) size += p.length;
    if (size > SCRATCH_SIZE) return sha256Node(...parts);
    let at = 0;
    for (const p of parts) {
      scratch.set(p, at);
      at += p.length;
    }
    // `crypto.hash` is synchronous, so the scratch buffer is free again when it returns.
    data = scratch.subarray(0, size);
  }
  // 'binary' (latin1) maps each digest byte to one UTF-16 code unit 0x00-0xFF, losslessly.
  const text = hash('sha256', data, 'binary');
  const out = new Uint8Array(HASH_SIZE);
  for (let i = 0; i < HASH_SIZE; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** SHA-256 over the concatenation of `parts`, with @noble/hashes. */
export function sha256Noble(...parts: Uint8Array[]): Uint8Array {
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-256 over the concatenation of `parts`. */
export const sha256: (...parts: Uint8Array[]) => Uint8Array = sha256NodeOneShot;

/** Constant-shape equality of two byte strings (not secret-dependent here; just exact). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
