/**
 * note.ts: C2SP signed notes with type 0x02 signatures, and auditlock's rule that signature lines
 * appear at most once per (key name, key ID), in ascending order (docs/FORMAT.md §4.2).
 */
import { describe, expect, it } from 'vitest';
import {
  encodeDerSignature,
  isCanonicalSignature,
  parseDerSignature,
} from '../../src/core/ecdsa.js';
import { ecdsaKeyId } from '../../src/core/key-id.js';
import {
  assertNoteText,
  checkSignature,
  compareSignatures,
  formatNote,
  formatSignatureLine,
  MAX_SIGNATURES,
  type NoteSignature,
  parseNote,
  parseSignatureLine,
  signatureOrderProblem,
  signNoteText,
  sortSignatures,
} from '../../src/core/note.js';
import type { Signer } from '../../src/core/ports.js';
import { makeKey } from '../helpers/log-fixture.js';
import { thrownCode } from './segment-builder.js';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const TEXT = 'example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
const sig = (keyName: string, id: number[]): NoteSignature => ({
  keyName,
  keyId: Uint8Array.from(id),
  signature: Uint8Array.of(1),
});

describe('signature lines', () => {
  it('round-trips a line', () => {
    const s = {
      keyName: 'example.com/log',
      keyId: Uint8Array.of(1, 2, 3, 4),
      signature: Uint8Array.of(9, 8),
    };
    const line = formatSignatureLine(s);
    expect(line).toBe('\u2014 example.com/log AQIDBAkI');
    expect(parseSignatureLine(line)).toEqual(s);
  });

  it.each([
    ['no em dash', '- example.com/log AQIDBAkI'],
    ['no key name', '\u2014  AQIDBAkI'],
    ['a + in the key name', '\u2014 a+b AQIDBAkI'],
    ['no space before the signature', '\u2014 example.com/log'],
    ['non-canonical base64 (no padding)', '\u2014 k AQIDBAk'],
    ['non-canonical base64 (pad bits)', '\u2014 k AQIDBAkJ='],
    ['whitespace in base64', '\u2014 k AQID BAkI'],
    ['a key ID and no signature', '\u2014 k AQIDBA=='],
  ])('rejects %s with NOTE_MALFORMED', (_, line) => {
    expect(thrownCode(() => parseSignatureLine(line))).toBe('NOTE_MALFORMED');
  });
});

describe('canonical order of signature lines', () => {
  it('orders by key name UTF-8 bytes, then key ID bytes', () => {
    // U+FF61 is EF BD A1 in UTF-8, U+10000 is F0 90 80 80: UTF-8 puts U+FF61 first, while
    // UTF-16 code units (FF61 vs D800) would put U+10000 first.
    const bmp = sig('\uff61', [0, 0, 0, 0]);
    const astral = sig('\u{10000}', [0, 0, 0, 0]);
    expect(compareSignatures(bmp, astral)).toBeLessThan(0);
    expect(compareSignatures(sig('a', [0, 0, 0, 2]), sig('a', [0, 0, 1, 0]))).toBeLessThan(0);
    expect(compareSignatures(sig('a', [9, 9, 9, 9]), sig('b', [0, 0, 0, 0]))).toBeLessThan(0);
    expect(compareSignatures(sig('ab', [0, 0, 0, 0]), sig('a', [9, 9, 9, 9]))).toBeGreaterThan(0);
    expect(sortSignatures([astral, bmp])).toEqual([bmp, astral]);
  });

  it('names repeats and disorder, and sortSignatures refuses repeats', () => {
    const a = sig('a', [0, 0, 0, 1]);
    const b = sig('a', [0, 0, 0, 2]);
    expect(signatureOrderProblem([a, b])).toBeUndefined();
    expect(signatureOrderProblem([b, a])).toBeDefined();
    expect(signatureOrderProblem([a, { ...a, signature: Uint8Array.of(2) }])).toBeDefined();
    expect(thrownCode(() => sortSignatures([a, a]))).toBe('NOTE_MALFORMED');
  });
});

describe('parseNote / formatNote', () => {
  const a = sig('a', [0, 0, 0, 1]);
  const b = sig('b', [0, 0, 0, 1]);

  it('round-trips, writing lines in canonical order', () => {
    const text = formatNote(TEXT, [b, a]);
    expect(text).toBe(`${TEXT}\n${formatSignatureLine(a)}\n${formatSignatureLine(b)}\n`);
    expect(parseNote(text)).toEqual({ text: TEXT, signatures: [a, b] });
  });

  it('rejects repeated and reordered lines with NOTE_MALFORMED', () => {
    const line = (s: NoteSignature) => `${formatSignatureLine(s)}\n`;
    expect(thrownCode(() => parseNote(`${TEXT}\n${line(a)}${line(a)}`))).toBe('NOTE_MALFORMED');
    expect(thrownCode(() => parseNote(`${TEXT}\n${line(b)}${line(a)}`))).toBe('NOTE_MALFORMED');
    expect(thrownCode(() => formatNote(TEXT, [a, a]))).toBe('NOTE_MALFORMED');
  });

  it('rejects other malformed notes with NOTE_MALFORMED', () => {
    const line = `${formatSignatureLine(a)}\n`;
    const many = Array.from(
      { length: MAX_SIGNATURES + 1 },
      (_, i) => `${formatSignatureLine(sig('a', [0, 0, 0, i]))}\n`,
    ).join('');
    const huge = `${TEXT}\n${line}${'x\n'.repeat(1_000_000)}`;
    for (const n of [
      TEXT,
      `${TEXT}\n${line.slice(0, -1)}`,
      `${TEXT}\n${many}`,
      `a\tb\n\n${line}`,
      `${TEXT}\n\n`,
      huge,
    ])
      expect(thrownCode(() => parseNote(n))).toBe('NOTE_MALFORMED');
    expect(thrownCode(() => assertNoteText('no newline'))).toBe('NOTE_MALFORMED');
  });
});

describe('signing and checking', () => {
  it('stores a low-S signature even when the signer returns high S', async () => {
    // Prepare: a signer that always returns the high-S twin.
    const key = makeKey();
    const highS: Signer = {
      description: 'high-S test signer',
      publicKey: () => key.signer.publicKey(),
      sign: async (m) => {
        const { r, s } = parseDerSignature(await key.signer.sign(m));
        return encodeDerSignature({ r, s: s > N / 2n ? s : N - s });
      },
    };
    // Act
    const s = await signNoteText(TEXT, 'example.com/log', highS);
    // Assess
    expect(isCanonicalSignature(s.signature)).toBe(true);
    expect(s.keyId).toEqual(ecdsaKeyId(key.spki));
    expect(checkSignature(TEXT, s, [key.trusted], 'example.com/log').status).toBe('valid');
  });

  it('classifies lines: valid, invalid, unknown key, wrong name', async () => {
    const key = makeKey();
    const s = await signNoteText(TEXT, 'example.com/log', key.signer);
    const named = { ...key.trusted, name: 'example.com/log' };
    expect(checkSignature(TEXT, s, [named]).status).toBe('valid');
    expect(checkSignature(`${TEXT}x\n`, s, [named]).status).toBe('invalid');
    expect(checkSignature(TEXT, s, [makeKey().trusted], 'example.com/log').status).toBe(
      'unknown-key',
    );
    expect(checkSignature(TEXT, s, [{ ...named, name: 'other' }]).status).toBe('unknown-key');
    expect(checkSignature(TEXT, s, [key.trusted], 'other').status).toBe('unknown-key');
  });
});
