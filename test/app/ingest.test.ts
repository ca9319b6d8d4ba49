/**
 * JSON Lines ingest in-process: every valid line archived in order, every invalid one reported
 * with its line number (and optionally quarantined), acknowledgements in input order, resume.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { ingestJsonLines } from '../../src/app/ingest.js';
import { verifyStore } from '../../src/app/verify.js';
import type { Finding } from '../../src/core/findings.js';
import { logFixture, sampleEvent } from '../helpers/log-fixture.js';

const line = (i: number) => JSON.stringify(sampleEvent(i));

async function run(
  lines: string[],
  opts: { quarantine?: boolean; fromLine?: number; signal?: AbortSignal } = {},
  store = new MemoryStore(),
) {
  const fx = logFixture(store);
  const archiver = await fx.open({ maxEvents: 4 });
  const rejects: { line: number; code: string; paths: string[] }[] = [];
  const acks: number[] = [];
  const result = await ingestJsonLines({
    archiver,
    input: Readable.from([`${lines.join('\n')}\n`]),
    inputName: 'test.jsonl',
    ...opts,
    onReject: ({ line, error }) =>
      rejects.push({ line, code: error.code, paths: error.issues.map((i) => i.path) }),
    onAck: ({ throughLine }) => acks.push(throughLine),
  });
  await archiver.close();
  const findings: Finding[] = [];
  const verified = await verifyStore(store, {
    trustedKeys: [fx.key.trusted],
    onFinding: (f) => findings.push(f),
  });
  return { result, rejects, acks, findings, log: verified.logs[0], store };
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
    const { result, rejects, findings, log, acks } = await run(lines);
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
    expect(acks).toEqual([1, 3, 6]);
  });

  it('with quarantine, keeps the rejected lines in the log too', async () => {
    const { result, log } = await run([line(1), 'nope', line(2)], { quarantine: true });
    expect(result).toMatchObject({ archived: 2, rejected: 1, quarantined: 1 });
    expect(log).toMatchObject({ treeSize: 3, quarantined: 1 });
  });

  it('resumes from a line, and strips a byte-order mark on line 1', async () => {
    const lines = [`\uFEFF${line(1)}`, line(2), line(3)];
    const first = await run(lines.slice(0, 1));
    expect(first.result.archived).toBe(1);
    const { result } = await run(lines, { fromLine: 2 });
    expect(result).toMatchObject({ lines: 3, archived: 2, rejected: 0 });
  });

  it('stops reading on abort and still stores what it read', async () => {
    const controller = new AbortController();
    controller.abort();
    const { result, log } = await run([line(1), line(2)], { signal: controller.signal });
    expect(result.interrupted).toBe(true);
    expect(result.archived).toBe(log?.treeSize ?? 0);
  });
});
