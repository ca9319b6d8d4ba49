/**
 * ecdsa.ts: the one canonical form of a P-256 signature (strict DER, low S), and verification
 * that accepts nothing else.
 */
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeDerSignature,
  isCanonicalSignature,
  normalizeSignature,
  parseDerSignature,
  verifyEcdsaP256,
} from '../../src/core/ecdsa.js';
import { thrownCode } from './segment-builder.js';

/** P-256 group order (FIPS 186-4 D.1.2.3). */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const scalar = fc.bigInt({ min: 1n, max: N - 1n });
const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
const message = new TextEncoder().encode('checkpoint text\n');

describe('DER encoding', () => {
  it('encodes minimally and parses back any (r, s) in range', () => {
    fc.assert(
      fc.property(scalar, scalar, (r, s) => {
        const der = encodeDerSignature({ r, s });
        expect(parseDerSignature(der)).toEqual({ r, s });
        expect(der.length).toBeLessThanOrEqual(72);
      }),
    );
  });

  it('parses a small known encoding', () => {
    // SEQUENCE { INTEGER 1, INTEGER 0x80 (needs a leading zero) }
    const der = hex('3007 020101 02020080');
    expect(parseDerSignature(der)).toEqual({ r: 1n, s: 128n });
    expect(encodeDerSignature({ r: 1n, s: 128n })).toEqual(der);
  });

  const nonStrict: [string, string][] = [
    ['non-minimal INTEGER (needless leading zero)', '3008 02020001 02020080'],
    ['negative INTEGER', '3006 020101 020180'],
    ['long-form length', '308107 020101 02020080'],
    ['SEQUENCE length too long', '3008 020101 02020080'],
    ['trailing byte', '3007 020101 02020080 00'],
    ['wrong outer tag', '3107 020101 02020080'],
    ['wrong INTEGER tag', '3007 030101 02020080'],
    ['zero-length INTEGER', '3006 0200 02020080'],
    ['r = 0', '3007 020100 02020080'],
    ['too short', '3006 020101 0201'],
  ];
  it.each(nonStrict)('rejects %s with SIGNATURE_MALFORMED', (_, der) => {
    expect(thrownCode(() => parseDerSignature(hex(der)))).toBe('SIGNATURE_MALFORMED');
    expect(isCanonicalSignature(hex(der))).toBe(false);
  });

  it('rejects r or s equal to n', () => {
    const der = encodeDerSignature({ r: N, s: 1n });
    expect(thrownCode(() => parseDerSignature(der))).toBe('SIGNATURE_MALFORMED');
    expect(thrownCode(() => parseDerSignature(encodeDerSignature({ r: 1n, s: N })))).toBe(
      'SIGNATURE_MALFORMED',
    );
  });
});

describe('low S', () => {
  it('normalises to s <= n/2, idempotently, keeping r', () => {
    fc.assert(
      fc.property(scalar, scalar, (r, s) => {
        const low = normalizeSignature(encodeDerSignature({ r, s }));
        const parts = parseDerSignature(low);
        expect(parts.r).toBe(r);
        expect(parts.s === s || parts.s === N - s).toBe(true);
        expect(parts.s <= N / 2n).toBe(true);
        expect(isCanonicalSignature(low)).toBe(true);
        expect(normalizeSignature(low)).toEqual(low);
      }),
    );
  });

  it('accepts s = (n-1)/2 and rejects s = (n+1)/2 as canonical', () => {
    expect(isCanonicalSignature(encodeDerSignature({ r: 1n, s: N >> 1n }))).toBe(true);
    expect(isCanonicalSignature(encodeDerSignature({ r: 1n, s: (N >> 1n) + 1n }))).toBe(false);
  });
});

describe('verifyEcdsaP256', () => {
  const der = new Uint8Array(nodeSign('sha256', message, privateKey));
  const low = normalizeSignature(der);
  const { r, s } = parseDerSignature(low);
  const high = encodeDerSignature({ r, s: N - s });

  it('verifies the canonical signature only', () => {
    expect(verifyEcdsaP256(spki, message, low)).toBe(true);
    expect(verifyEcdsaP256(spki, message, high)).toBe(false);
    expect(verifyEcdsaP256(spki, new TextEncoder().encode('other text\n'), low)).toBe(false);
  });

  it('answers false, never throws, for a bad key or garbage signature', () => {
    expect(verifyEcdsaP256(new Uint8Array(91), message, low)).toBe(false);
    expect(verifyEcdsaP256(spki, message, new Uint8Array(70))).toBe(false);
    expect(verifyEcdsaP256(spki, message, new Uint8Array())).toBe(false);
  });
});
