/**
 * What is sealed is what was received, through the real CLI: input is read as bytes; invalid
 * UTF-8, duplicate member names and numbers that cannot be kept exactly are rejected lines with
 * their own codes (quarantined with the exact bytes, their size and SHA-256); line numbers count
 * LF bytes; CRLF and a BOM on line 1 are line framing, not content; and an origin the checkpoint
 * parser would refuse is refused before anything is written (ingest --origin, keygen --name).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { fromUtf8 } from '../../src/core/encoding.js';
import { parseSegment } from '../../src/core/segment.js';
import {
  EVENTS_FILE,
  type KeyFiles,
  keygen,
  parseJsonOutput,
  readLines,
  readLogEntries,
  runCli,
  segmentPath,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs();
let dir: string;
let keys: KeyFiles;
let good: string[];

beforeAll(async () => {
  dir = await tempDir();
  keys = await keygen(dir);
  good = (await readLines(EVENTS_FILE)).slice(0, 10);
});

type Summary = { lines: number; archived: number; rejected: number; treeSize: number };
type Raw = { encoding: string; data: string; size: number; truncated: boolean; sha256: string };

/** Every stored entry of the default log, parsed (for assertions only). */
async function entries(store: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let seq = 0; existsSync(segmentPath(store, seq)); seq++) {
    const seg = parseSegment(new Uint8Array(await readFile(segmentPath(store, seq))));
    for (const leaf of splitEntries(
      decodeBody(seg.body, seg.header.encoding, seg.header.rawLength),
    ))
      out.push(JSON.parse(fromUtf8(leaf)) as Record<string, unknown>);
  }
  return out;
}

async function ingestBytes(name: string, bytes: Uint8Array | string, extra: string[] = []) {
  const file = join(dir, `${name}.jsonl`);
  await writeFile(file, bytes);
  const store = join(dir, `store-${name}`);
  const result = await runCli([
    'ingest',
    store,
    file,
    '--key',
    keys.privateKey,
    '--json',
    ...extra,
  ]);
  return { result, store, file };
}

const stderrCodes = (stderr: string) =>
  stderr
    .split('\n')
    .map((l) => /^line (\d+): ([A-Z0-9_]+):/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ line: Number(m[1]), code: m[2] }));

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('base64');

describe('ingest reads bytes, not decoded text', () => {
  it('rejects invalid UTF-8 (UTF8_INVALID) and quarantines the exact bytes, size and SHA-256', async () => {
    // Prepare: a valid event whose actor name holds a lone 0xFF byte, between two good lines.
    const bad = Buffer.from(good[1] as string)
      .toString('latin1')
      .replace('"actor":{', '"actor":{"name":"\u00ff",');
    const badBytes = Buffer.from(bad, 'latin1');
    expect(badBytes.includes(0xff)).toBe(true);
    const input = Buffer.concat([
      Buffer.from(`${good[0]}\n`),
      badBytes,
      Buffer.from(`\n${good[2]}\n`),
    ]);
    // Act
    const { result, store } = await ingestBytes('utf8', input, ['--quarantine']);
    // Assess
    expect(result.code, result.stderr).toBe(1);
    expect(stderrCodes(result.stderr)).toEqual([{ line: 2, code: 'UTF8_INVALID' }]);
    expect(parseJsonOutput<Summary>(result)).toMatchObject({
      archived: 2,
      rejected: 1,
      treeSize: 3,
    });
    const stored = await entries(store);
    expect(stored.map((e) => e.kind)).toEqual(['event', 'quarantine', 'event']);
    const raw = (stored[1] as { raw: Raw }).raw;
    expect(raw.encoding).toBe('base64');
    expect(Buffer.from(raw.data, 'base64').equals(badBytes)).toBe(true);
    expect(raw.size).toBe(badBytes.length);
    expect(raw.sha256).toBe(sha256(badBytes));
    expect((stored[1] as { error: { code: string } }).error.code).toBe('UTF8_INVALID');
  });

  it('rejects duplicate member names (JSON_DUPLICATE_MEMBER) instead of keeping the last', async () => {
    const dup = (good[0] as string).replace(
      '"outcome":"success"',
      '"outcome":"success","outcome":"failure"',
    );
    expect(dup).not.toBe(good[0]);
    const { result, store } = await ingestBytes('dup', `${dup}\n${good[1]}\n`);
    expect(result.code, result.stderr).toBe(1);
    expect(stderrCodes(result.stderr)).toEqual([{ line: 1, code: 'JSON_DUPLICATE_MEMBER' }]);
    expect((await readLogEntries(store)).map((e) => e.kind)).toEqual(['event']);
  });

  it.each([
    ['2^53+1', '9007199254740993'],
    ['1e-400', '1e-400'],
    ['1e400', '1e400'],
  ])('rejects the number %s (JSON_NUMBER_INEXACT) instead of changing it', async (name, n) => {
    const event = JSON.parse(good[0] as string) as Record<string, unknown>;
    const text = JSON.stringify({ ...event, detail: { x: 1 } }).replace('{"x":1}', `{"n":${n}}`);
    const { result } = await ingestBytes(`num-${name.replace(/\W/g, '')}`, `${text}\n`);
    expect(result.code, result.stderr).toBe(1);
    expect(stderrCodes(result.stderr)).toEqual([{ line: 1, code: 'JSON_NUMBER_INEXACT' }]);
  });

  it('counts lines by LF bytes: CRLF endings and a BOM on line 1 are framing, not content', async () => {
    // Prepare: BOM, CRLF endings, a blank line, a lone CR inside a line's JSON whitespace,
    // U+2028 inside a string (a line break for JavaScript, not for JSON Lines).
    const third = JSON.parse(good[2] as string) as { actor: Record<string, unknown> };
    const withSep = JSON.stringify({ ...third, actor: { ...third.actor, name: 'a\u2028b' } });
    expect(withSep).toContain('\u2028');
    const input = `\ufeff${good[0]}\r\n${good[1]}\r\n\r\n${withSep}\n{"bad":1}\r\n`;
    // Act
    const { result, store } = await ingestBytes('framing', input, ['--quarantine']);
    // Assess
    expect(result.code, result.stderr).toBe(1);
    expect(parseJsonOutput<Summary>(result)).toMatchObject({ lines: 5, archived: 3, rejected: 1 });
    expect(stderrCodes(result.stderr)).toEqual([{ line: 5, code: 'EVENT_INVALID' }]);
    const stored = await entries(store);
    const lines = stored.map((e) =>
      Number(String((e.delivery as { id: string }).id).split(':')[1]),
    );
    expect(lines).toEqual([1, 2, 4, 5]);
    const raw = (stored[3] as { raw: Raw }).raw;
    expect(raw).toMatchObject({ encoding: 'utf8', data: '{"bad":1}', size: 9 });
    expect((stored[2] as { event: { actor: { name: string } } }).event.actor.name).toBe('a\u2028b');
  });
});

/** Origins the checkpoint parser refuses (isValidOrigin), each with a reason. */
const BAD_ORIGINS: [string, string][] = [
  ['a space', 'audit example/prod'],
  ["a '+'", 'audit+example/prod'],
  ['a leading "— "', '— audit.example/prod'],
  ['a newline', 'audit.example/prod\nextra line'],
  ['an ESC', 'audit.example/\u001b[31mred'],
  ['nothing', ''],
];

describe('one origin rule, checked before anything is written', () => {
  it.each(BAD_ORIGINS)(
    'ingest --origin with %s: exit 2, ORIGIN_INVALID, no store',
    async (name, origin) => {
      const store = join(dir, `origin-${name.replace(/\W/g, '')}`);
      const result = await runCli([
        'ingest',
        store,
        EVENTS_FILE,
        '--key',
        keys.privateKey,
        '--origin',
        origin,
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^error: ORIGIN_INVALID: [^\n]*\n$/);
      expect(result.stderr).not.toContain('\u001b');
      expect(existsSync(store)).toBe(false);
    },
  );

  it.each(BAD_ORIGINS)(
    'keygen --name with %s: exit 2, ORIGIN_INVALID, no key files',
    async (name, origin) => {
      const out = join(dir, `keys-${name.replace(/\W/g, '')}`);
      const result = await runCli(['keygen', '--out', out, '--name', origin]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^error: ORIGIN_INVALID: [^\n]*\n$/);
      expect(existsSync(out) ? await readdir(out) : []).toEqual([]);
    },
  );
});
