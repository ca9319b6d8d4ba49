/**
 * JSON Lines ingest in-process: every valid line archived in order, every invalid one reported
 * with its line number (and optionally quarantined), delivery ids carrying the input chain, and
 * resuming from what the log holds: exactly once, refusing an input that differs.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import type { Archiver } from '../../src/app/archiver.js';
import { ingestJsonLines } from '../../src/app/ingest.js';
import { findResumePoint } from '../../src/app/resume.js';
import { verifyStore } from '../../src/app/verify.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { decodeEntry } from '../../src/core/entry.js';
import { AuditlockError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/findings.js';
import {
  INPUT_CHAIN_START,
  nextInputChain,
  parseInputDeliveryId,
} from '../../src/core/input-delivery.js';
import { segmentKey } from '../../src/core/layout.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { logFixture, makeKey, sampleEvent, type TestKey } from '../helpers/log-fixture.js';

const line = (i: number) => JSON.stringify(sampleEvent(i));
const text = (lines: string[]) => `${lines.join('\n')}\n`;

type RunOptions = { quarantine?: boolean; signal?: AbortSignal; resume?: boolean; name?: string };

/** One signing key per store, so every run on a store continues the same log. */
const keys = new WeakMap<MemoryStore, TestKey>();

async function run(input: string | Uint8Array, opts: RunOptions = {}, store = new MemoryStore()) {
  if (!keys.has(store)) keys.set(store, makeKey());
  const fx = logFixture(store, keys.get(store));
  const archiver = await fx.open({ maxEvents: 4 });
  const rejects: { line: number; code: string; paths: string[] }[] = [];
  const inputName = opts.name ?? 'test.jsonl';
  const resume = opts.resume ? await resumeOf(store, archiver, inputName) : undefined;
  const result = await ingestJsonLines({
    archiver,
    input: Readable.from([typeof input === 'string' ? Buffer.from(input) : input]),
    inputName,
    resume,
    ...(opts.quarantine ? { quarantine: true } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onReject: ({ line, error }) =>
      rejects.push({ line, code: error.code, paths: error.issues.map((i) => i.path) }),
  }).finally(() => archiver.close());
  const findings: Finding[] = [];
  const verified = await verifyStore(store, {
    trustedKeys: [fx.key.trusted],
    onFinding: (f) => findings.push(f),
  });
  return { result, rejects, findings, log: verified.logs[0], store, archiver };
}

function resumeOf(store: ObjectStore, archiver: Archiver, inputName: string) {
  return findResumePoint({
    store,
    log: 'main',
    headSeq: archiver.head.nextSeq - 1,
    trustedKeys: archiver.trustedKeys,
    inputName,
  });
}

/** Delivery ids of every entry of the fixture log, in order. */
async function deliveryIds(store: MemoryStore): Promise<string[]> {
  const out: string[] = [];
  for (let seq = 0; ; seq++) {
    const bytes = await store.get(segmentKey('main', seq));
    if (!bytes) return out;
    const seg = parseSegment(bytes);
    for (const e of splitEntries(decodeBody(seg.body, seg.header.encoding, seg.header.rawLength)))
      out.push(decodeEntry(e).delivery?.id ?? '');
  }
}

describe('ingestJsonLines', () => {
  it('archives valid lines, reports each invalid one with its line number and field', async () => {
    const lines = [
      line(1),
      '{"bad json',
      line(2),
      '',
      JSON.stringify({ ...sampleEvent(3), outcome: 'ok' }),
      line(4),
    ];
    const { result, rejects, findings, log } = await run(text(lines));
    expect(result).toMatchObject({
      lines: 6,
      archived: 3,
      rejected: 2,
      quarantined: 0,
      interrupted: false,
    });
    expect(rejects).toEqual([
      { line: 2, code: 'JSON_INVALID', paths: [] },
      { line: 5, code: 'EVENT_INVALID', paths: ['outcome'] },
    ]);
    expect(findings).toEqual([]);
    expect(log?.treeSize).toBe(3);
  });

  it('with quarantine, keeps the rejected lines in the log too', async () => {
    const { result, log } = await run(text([line(1), 'nope', line(2)]), { quarantine: true });
    expect(result).toMatchObject({ archived: 2, rejected: 1, quarantined: 1 });
    expect(log).toMatchObject({ treeSize: 3, quarantined: 1 });
  });

  it('records <name>:<line>:<chain> in each delivery id, the chain over the bytes as read', async () => {
    const lines = [`\uFEFF${line(1)}\r`, line(2)];
    const input = Buffer.from(text(lines));
    const { store } = await run(input);
    const ids = (await deliveryIds(store)).map((id) => parseInputDeliveryId(id));
    const first = input.subarray(0, input.indexOf(10) + 1);
    const h1 = nextInputChain(INPUT_CHAIN_START, first);
    const h2 = nextInputChain(h1, input.subarray(first.length));
    expect(ids).toEqual([
      { name: 'test.jsonl', line: 1, chain: h1 },
      { name: 'test.jsonl', line: 2, chain: h2 },
    ]);
  });

  it('resumes after the last line the log holds of this input, exactly once', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => line(i + 1));
    const store = new MemoryStore();
    await run(text(lines.slice(0, 6)), {}, store);
    const again = await run(text(lines), { resume: true }, store);
    expect(again.result).toMatchObject({ lines: 10, skipped: 6, archived: 4 });
    expect(again.findings).toEqual([]);
    expect((await deliveryIds(store)).map((id) => parseInputDeliveryId(id)?.line)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    // A rerun of the finished input archives nothing.
    const done = await run(text(lines), { resume: true }, store);
    expect(done.result).toMatchObject({ skipped: 10, archived: 0 });
  });

  it('starts at line 1 on a log holding nothing of this input, or another input last', async () => {
    const store = new MemoryStore();
    const first = await run(text([line(1), line(2)]), { resume: true }, store);
    expect(first.result).toMatchObject({ skipped: 0, archived: 2 });
    const other = await run(text([line(3)]), { resume: true, name: 'other.jsonl' }, store);
    expect(other.result).toMatchObject({ skipped: 0, archived: 1 });
  });

  it.each([
    ['a different line in the prefix', (l: string[]) => [l[0], line(99), ...l.slice(2)]],
    ['a shorter input', (l: string[]) => l.slice(0, 3)],
    ['one changed byte (CRLF instead of LF)', (l: string[]) => [`${l[0]}\r`, ...l.slice(1)]],
  ])('refuses to resume with %s (INPUT_MISMATCH) and writes nothing', async (_name, change) => {
    const lines = Array.from({ length: 6 }, (_, i) => line(i + 1));
    const store = new MemoryStore();
    await run(text(lines.slice(0, 5)), {}, store);
    const before = await deliveryIds(store);
    const err = await run(text(change(lines) as string[]), { resume: true }, store).catch((e) => e);
    expect(err).toBeInstanceOf(AuditlockError);
    expect((err as AuditlockError).code).toBe('INPUT_MISMATCH');
    expect(await deliveryIds(store)).toEqual(before);
  });

  it('stops reading on abort and still stores what it read', async () => {
    const controller = new AbortController();
    controller.abort();
    const { result, log } = await run(text([line(1), line(2)]), { signal: controller.signal });
    expect(result.interrupted).toBe(true);
    expect(result.archived).toBe(log?.treeSize ?? 0);
  });

  it('refuses an input name no delivery id may hold with DELIVERY_INVALID, writing nothing', async () => {
    // A control character; and a name whose id fits at line 1 but not at line 2^53 - 1.
    for (const name of ['bad\u0001name', 'x'.repeat(451)]) {
      const store = new MemoryStore();
      await expect(run(text([line(1)]), { name }, store)).rejects.toMatchObject({
        code: 'DELIVERY_INVALID',
      });
      expect(await store.exists(segmentKey('main', 0))).toBe(false);
    }
    // The longest name whose every id fits: 450 + ':' + 16 digits + ':' + 44 = 512.
    const { result } = await run(text([line(1)]), { name: 'x'.repeat(450) });
    expect(result).toMatchObject({ archived: 1 });
  });

  it('refuses invalid UTF-8 with UTF8_INVALID, keeping line numbers by LF', async () => {
    const bad = Buffer.concat([
      Buffer.from(`${line(1)}\n{"x":"`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(`"}\n${line(2)}\n`),
    ]);
    const { rejects, result } = await run(bad);
    expect(rejects).toEqual([{ line: 2, code: 'UTF8_INVALID', paths: [''] }]);
    expect(result).toMatchObject({ lines: 3, archived: 2 });
  });
});
