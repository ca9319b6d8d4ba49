/**
 * Several writers appending to one log at once produce one linear log: nothing lost, nothing
 * duplicated. Exercised in-process (interleaved awaits) and across processes on the folder store,
 * whose put-if-absent is atomic (link(2)); S3 adds injected 412/409s in test/integration.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { verifyStore } from '../../src/app/verify.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import type { Finding } from '../../src/core/findings.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { logFixture, makeKey, sampleEvent, type TestKey } from '../helpers/log-fixture.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function eventIds(store: ObjectStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const { key } of store.list('')) {
    const seg = parseSegment((await store.get(key)) as Uint8Array);
    for (const e of splitEntries(decodeBody(seg.body, seg.header.encoding, seg.header.rawLength)))
      ids.push((JSON.parse(Buffer.from(e).toString('utf8')) as { event: { id: string } }).event.id);
  }
  return ids;
}

async function verifyClean(store: ObjectStore, key: TestKey) {
  const findings: Finding[] = [];
  const r = await verifyStore(store, {
    trustedKeys: [key.trusted],
    onFinding: (f) => findings.push(f),
  });
  return { findings, log: r.logs[0] };
}

describe('several writers on one log', () => {
  it.each([
    ['memory', async () => new MemoryStore()],
    [
      'folder',
      async () => {
        const d = await mkdtemp(join(tmpdir(), 'al-mw-'));
        dirs.push(d);
        return new FolderStore(d);
      },
    ],
  ])('in one process (%s store): 4 writers x 150 events', async (_name, makeStore) => {
    const store = await makeStore();
    const key = makeKey();
    const fx = logFixture(store, key);
    const retries: string[] = [];
    const writers = await Promise.all(
      [0, 1, 2, 3].map(() =>
        fx.open({ maxEvents: 7, maxAgeMs: 1, onRetry: (r) => retries.push(r.reason) }),
      ),
    );
    const stored = await Promise.all(
      writers.flatMap((w, n) =>
        Array.from({ length: 150 }, (_, i) => w.append(sampleEvent(n * 1000 + i))),
      ),
    );
    await Promise.all(writers.map((w) => w.close()));
    const { findings, log } = await verifyClean(store, key);
    expect(findings).toEqual([]);
    expect(log?.treeSize).toBe(600);
    const ids = await eventIds(store);
    expect(new Set(ids).size).toBe(600);
    // Every receipt points at a distinct leaf index, and they cover the log exactly.
    expect(new Set(stored.map((r) => r.index)).size).toBe(600);
    expect(retries).toContain('lost-race');
  });

  it('across processes (folder store): 3 CLI ingest processes into one log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'al-mwp-'));
    dirs.push(dir);
    const key = makeKey();
    const keyFile = join(dir, 'key.pem');
    await writeFile(keyFile, key.privateKeyPem);
    const store = join(dir, 'store');
    // Each process reads stdin; the test feeds them in turns and waits until the log holds every
    // process's turn before the next, so their segments must interleave in the log.
    const folder = new FolderStore(store);
    const procs = [0, 1, 2].map((n) => {
      const p = spawn(
        process.execPath,
        [
          'dist/cli/main.js',
          'ingest',
          store,
          '-',
          '--key',
          keyFile,
          '--origin',
          'audit.example.com/mw',
          '--max-events',
          '9',
          '--max-age-ms',
          '1',
        ],
        { stdio: ['pipe', 'ignore', 'ignore'] },
      );
      const exit = new Promise<number>((resolve) => p.on('exit', (code) => resolve(code ?? -1)));
      return { n, p, exit };
    });
    const storedIds = async (): Promise<Set<string>> =>
      new Set(await eventIds(folder).catch(() => [] as string[]));
    const rounds = 15;
    const perRound = 20;
    for (let round = 0; round < rounds; round++) {
      const wanted: string[] = [];
      for (const { n, p } of procs) {
        const numbers = Array.from(
          { length: perRound },
          (_, i) => n * 10_000 + round * perRound + i,
        );
        const events = numbers.map((i) => sampleEvent(i));
        wanted.push(...numbers.map((i) => `evt-${i}`)); // sampleEvent's id
        p.stdin?.write(`${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
      }
      const deadline = Date.now() + 20_000;
      for (;;) {
        const have = await storedIds();
        if (wanted.every((id) => have.has(id))) break;
        if (Date.now() > deadline)
          throw new Error(`writers did not store round ${round} within 20 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    for (const { p } of procs) p.stdin?.end();
    const codes = await Promise.all(procs.map((x) => x.exit));
    expect(codes).toEqual([0, 0, 0]);
    const { findings, log } = await verifyClean(folder, key);
    expect(findings).toEqual([]);
    expect(log?.treeSize).toBe(900);
    const ids = await eventIds(folder);
    expect(new Set(ids).size).toBe(900);
    // The writers really did interleave: the log switches between their inputs many times.
    const writerOf = ids.map((id) => Math.floor(Number(id.slice(4)) / 10_000));
    const switches = writerOf.filter((w, i) => i > 0 && w !== writerOf[i - 1]).length;
    expect(switches).toBeGreaterThan(2);
  });
});
