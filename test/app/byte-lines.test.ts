/**
 * The byte line reader: however the input is cut into chunks, the lines are the same; line
 * numbers count LF bytes; CRLF and a BOM on line 1 are framing; raw bytes are exactly the input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type InputLine, readByteLines } from '../../src/app/byte-lines.js';
import { AuditlockError } from '../../src/core/errors.js';

async function collect(chunks: (Uint8Array | string)[], maxLineBytes?: number) {
  const out: { number: number; raw: number[]; content: number[] }[] = [];
  const source = (async function* () {
    yield* chunks;
  })();
  const opts = maxLineBytes === undefined ? {} : { maxLineBytes };
  for await (const l of readByteLines(source, opts) as AsyncIterable<InputLine>)
    out.push({ number: l.number, raw: [...l.raw], content: [...l.content] });
  return out;
}

const b = (s: string) => [...Buffer.from(s, 'latin1')];

describe('readByteLines', () => {
  it('splits on LF only; CRLF and a line-1 BOM are not content; other CRs and BOMs are', async () => {
    const input = Buffer.from('\xef\xbb\xbfa\r\nb\rc\n\n\xef\xbb\xbfd\r\r\ne', 'latin1');
    expect(await collect([input])).toEqual([
      { number: 1, raw: b('\xef\xbb\xbfa\r\n'), content: b('a') },
      { number: 2, raw: b('b\rc\n'), content: b('b\rc') },
      { number: 3, raw: b('\n'), content: [] },
      { number: 4, raw: b('\xef\xbb\xbfd\r\r\n'), content: b('\xef\xbb\xbfd\r') },
      { number: 5, raw: b('e'), content: b('e') },
    ]);
  });

  it('marks the last line each chunk completes, so a consumer need not wait for more', async () => {
    const source = (async function* () {
      yield* [Buffer.from('a\nb\nc'), Buffer.from('d'), Buffer.from('\ne\n'), Buffer.from('f')];
    })();
    const marks: [string, boolean][] = [];
    for await (const l of readByteLines(source))
      marks.push([Buffer.from(l.content).toString(), l.endOfChunk]);
    expect(marks).toEqual([
      ['a', false],
      ['b', true],
      ['cd', false],
      ['e', true],
      ['f', true],
    ]);
  });

  it('keeps invalid UTF-8 bytes as they are (no decoding, no U+FFFD)', async () => {
    const input = Uint8Array.from([0x7b, 0xff, 0xc3, 0x0a, 0x80]);
    expect(await collect([input])).toEqual([
      { number: 1, raw: [0x7b, 0xff, 0xc3, 0x0a], content: [0x7b, 0xff, 0xc3] },
      { number: 2, raw: [0x80], content: [0x80] },
    ]);
  });

  it('gives the same lines however the bytes are cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }).map((a) => a.map((x) => (x % 5 === 0 ? 0x0a : x))),
        fc.array(fc.nat(300), { maxLength: 10 }),
        async (bytes, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort(
            (x, y) => x - y,
          );
          const chunks: Uint8Array[] = [];
          let at = 0;
          for (const p of [...points, bytes.length]) {
            chunks.push(bytes.slice(at, p));
            at = p;
          }
          const whole = await collect([bytes]);
          expect(await collect(chunks)).toEqual(whole);
          // The raw bytes of all lines are the input, byte for byte.
          expect(whole.flatMap((l) => l.raw)).toEqual([...bytes]);
          expect(whole.length).toBe(
            bytes.filter((x) => x === 0x0a).length +
              (bytes.at(-1) === 0x0a || bytes.length === 0 ? 0 : 1),
          );
        },
      ),
    );
  });

  it('refuses a line longer than the limit (INPUT_LINE_TOO_LONG) instead of holding it', async () => {
    const err = await collect(['ok\n', 'x'.repeat(50), 'y'.repeat(60)], 100).catch((e) => e);
    expect(err).toBeInstanceOf(AuditlockError);
    expect((err as AuditlockError).code).toBe('INPUT_LINE_TOO_LONG');
    expect(await collect(['ok\n', 'x'.repeat(50), `${'y'.repeat(49)}\n`], 100)).toHaveLength(2);
  });
});
