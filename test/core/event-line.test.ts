/** One line of input as bytes: size before decoding, strict UTF-8, strict JSON, then the schema. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { parseEvent } from '../../src/core/event.js';
import {
  firstInvalidUtf8,
  MAX_EVENT_LINE_BYTES,
  parseEventBytes,
} from '../../src/core/event-line.js';

const valid = { time: '2026-11-26T08:16:35Z', action: 'a', actor: { id: 'u' }, outcome: 'success' };
const bytes = (s: string) => new TextEncoder().encode(s);
const codeOf = (b: Uint8Array) => {
  try {
    parseEventBytes(b, 3, parseEvent);
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).location).toBe('line 3');
    return (e as InputError).code;
  }
};

describe('parseEventBytes', () => {
  it('accepts a valid event, keeping non-ASCII text exactly', () => {
    const event = { ...valid, actor: { id: 'Zoë 山田 😀' } };
    expect(parseEventBytes(bytes(JSON.stringify(event)), 1, parseEvent)).toEqual(event);
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['a surrogate encoded in UTF-8', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0xe5, 0xb1]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('refuses %s (UTF8_INVALID) instead of replacing it', (_name, bad) => {
    const [head, tail] = JSON.stringify({ ...valid, actor: { id: '@' } }).split('@') as [
      string,
      string,
    ];
    const line = Uint8Array.from([...bytes(head), ...bad, ...bytes(tail)]);
    expect(codeOf(line)).toBe('UTF8_INVALID');
    expect(firstInvalidUtf8(line)).toBe(bytes(head).length);
  });

  it(`refuses a line over ${MAX_EVENT_LINE_BYTES} bytes before decoding it (EVENT_TOO_LARGE)`, () => {
    const pad = (n: number) => {
      const b = new Uint8Array(n).fill(0x20);
      b.set(bytes(JSON.stringify(valid)));
      return b;
    };
    expect(codeOf(pad(MAX_EVENT_LINE_BYTES))).toBe('accepted');
    const over = pad(MAX_EVENT_LINE_BYTES + 1);
    over[over.length - 1] = 0xff; // invalid UTF-8 too: the size is checked first
    expect(codeOf(over)).toBe('EVENT_TOO_LARGE');
  });

  it('reads the JSON strictly', () => {
    expect(codeOf(bytes('{"a":1,"a":2}'))).toBe('JSON_DUPLICATE_MEMBER');
    expect(codeOf(bytes('{"a":1e-400}'))).toBe('JSON_NUMBER_INEXACT');
    expect(codeOf(bytes('{"a":'))).toBe('JSON_INVALID');
    expect(codeOf(bytes('{"a":1}'))).toBe('EVENT_INVALID');
  });
});
