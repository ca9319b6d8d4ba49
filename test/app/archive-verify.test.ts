/**
 * Archive → verify round trips and one tamper test per finding code, on real stored bytes.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { verifyStore } from '../../src/app/verify.js';
import { parseCheckpoint } from '../../src/core/checkpoint.js';
import { toBase64, utf8 } from '../../src/core/encoding.js';
import type { Finding } from '../../src/core/findings.js';
import { segmentKey } from '../../src/core/layout.js';
import { parseNote } from '../../src/core/note.js';
import { logFixture, makeKey, writeLog } from '../helpers/log-fixture.js';

async function verify(
  store: MemoryStore,
  trusted = [] as Parameters<typeof verifyStore>[1]['trustedKeys'],
  extra: Partial<Parameters<typeof verifyStore>[1]> = {},
) {
  const findings: Finding[] = [];
  const result = await verifyStore(store, {
    trustedKeys: trusted,
    onFinding: (f) => findings.push(f),
    ...extra,
  });
  return { result, findings, codes: [...new Set(findings.map((f) => f.code))].sort() };
}

async function cleanLog(count = 50, perSegment = 10) {
  const store = new MemoryStore();
  const fx = logFixture(store);
  await writeLog(fx, count, perSegment);
  return { store, fx };
}

describe('archive and verify', () => {
  it('verifies a clean log and reports its size, segments and origin', async () => {
    const { store, fx } = await cleanLog(50, 10);
    const { result, findings } = await verify(store, [fx.key.trusted]);
    expect(findings).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.logs).toHaveLength(1);
    expect(result.logs[0]).toMatchObject({
      log: 'main',
      segments: 5,
      entries: 50,
      treeSize: 50,
      origin: 'audit.example.com/test/main',
    });
  });

  it('continues a log across archiver restarts without a gap', async () => {
    const store = new MemoryStore();
    const fx = logFixture(store);
    await writeLog(fx, 7, 3, 0);
    await writeLog(fx, 9, 4, 7);
    const { result, findings } = await verify(store, [fx.key.trusted]);
    expect(findings).toEqual([]);
    expect(result.logs[0]).toMatchObject({ treeSize: 16, segments: 6 });
  });

  it('writes gzip segments that verify the same', async () => {
    const store = new MemoryStore();
    const fx = logFixture(store);
    await writeLog(fx, 30, 10, 0, { encoding: 'gzip' });
    const { findings, result } = await verify(store, [fx.key.trusted]);
    expect(findings).toEqual([]);
    expect(result.logs[0]?.treeSize).toBe(30);
  });

  it('outputs the latest checkpoint as a C2SP signed note', async () => {
    const { store, fx } = await cleanLog(20, 10);
    const { result } = await verify(store, [fx.key.trusted]);
    const note = parseNote(result.logs[0]?.latestCheckpoint as string);
    const cp = parseCheckpoint(note.text);
    expect(cp.treeSize).toBe(20);
    expect(toBase64(cp.root)).toBe(result.logs[0]?.root);
  });
});

describe('tamper detection (one test per finding code)', () => {
  it('SIGNATURE_UNTRUSTED: a log signed by a key the verifier does not trust', async () => {
    const { store } = await cleanLog(20, 10);
    const { codes } = await verify(store, [makeKey().trusted]);
    expect(codes).toEqual(['SIGNATURE_UNTRUSTED']);
  });

  it('PAYLOAD_HASH_MISMATCH and PREV_HASH_MISMATCH: one changed byte in an entry', async () => {
    const { store, fx } = await cleanLog(30, 10);
    const key = segmentKey('main', 1);
    const bytes = Uint8Array.from((await store.get(key)) as Uint8Array);
    const at = Buffer.from(bytes).indexOf('evt-1');
    bytes[at + 4] = '9'.charCodeAt(0);
    store.tamperReplace(key, bytes);
    const { findings } = await verify(store, [fx.key.trusted]);
    expect(findings.map((f) => [f.code, f.seq])).toEqual(
      expect.arrayContaining([
        ['PAYLOAD_HASH_MISMATCH', 1],
        ['ROOT_MISMATCH', 1],
        ['PREV_HASH_MISMATCH', 2],
      ]),
    );
  });

  it('SEQUENCE_GAP: a deleted segment', async () => {
    const { store, fx } = await cleanLog(40, 10);
    store.tamperDelete(segmentKey('main', 2));
    const { findings, codes } = await verify(store, [fx.key.trusted]);
    expect(codes).toEqual(['SEQUENCE_GAP']);
    expect(findings[0]).toMatchObject({ seq: 3 });
  });

  it('SEQUENCE_MISMATCH: two segments swapped', async () => {
    const { store, fx } = await cleanLog(40, 10);
    const a = (await store.get(segmentKey('main', 1))) as Uint8Array;
    const b = (await store.get(segmentKey('main', 2))) as Uint8Array;
    store.tamperReplace(segmentKey('main', 1), b);
    store.tamperReplace(segmentKey('main', 2), a);
    const { codes } = await verify(store, [fx.key.trusted]);
    expect(codes).toContain('SEQUENCE_MISMATCH');
    expect(codes).toContain('PREV_HASH_MISMATCH');
    expect(codes).toContain('LEAF_INDEX_MISMATCH');
  });

  it('ORIGIN_MISMATCH: a segment replayed from another log signed by the same key', async () => {
    const key = makeKey();
    const store = new MemoryStore();
    await writeLog(logFixture(store, key), 30, 10);
    const other = new MemoryStore();
    const fxOther = logFixture(other, key);
    await writeLog(fxOther, 30, 10, 0, { origin: 'audit.example.com/test/other' });
    store.tamperReplace(
      segmentKey('main', 1),
      (await other.get(segmentKey('main', 1))) as Uint8Array,
    );
    const { findings } = await verify(store, [key.trusted]);
    expect(findings.filter((f) => f.seq === 1).map((f) => f.code)).toContain('ORIGIN_MISMATCH');
  });

  it('LOG_TRUNCATED: the newest segment deleted, detected with expectSize', async () => {
    const { store, fx } = await cleanLog(40, 10);
    store.tamperDelete(segmentKey('main', 3));
    expect((await verify(store, [fx.key.trusted])).codes).toEqual([]);
    const { codes } = await verify(store, [fx.key.trusted], { expectSize: 40 });
    expect(codes).toEqual(['LOG_TRUNCATED']);
  });

  it('UNEXPECTED_OBJECT: a stray object in the store', async () => {
    const { store, fx } = await cleanLog(10, 10);
    await store.putIfAbsent('main/seg/notes.txt', utf8('hello'));
    const { findings } = await verify(store, [fx.key.trusted]);
    expect(findings).toEqual([
      expect.objectContaining({ code: 'UNEXPECTED_OBJECT', key: 'main/seg/notes.txt' }),
    ]);
  });

  it('SEGMENT_MALFORMED: a segment replaced by garbage', async () => {
    const { store, fx } = await cleanLog(30, 10);
    store.tamperReplace(segmentKey('main', 1), utf8('not a segment'));
    const { findings } = await verify(store, [fx.key.trusted]);
    expect(findings.map((f) => [f.code, f.seq])).toEqual([
      ['SEGMENT_MALFORMED', 1],
      ['PREV_HASH_MISMATCH', 2],
    ]);
  });
});
