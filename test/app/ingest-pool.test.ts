/**
 * Ingest with events parsed on worker threads (issue 14): the log holds exactly what ingest on
 * one thread writes (the same entries in the same order, the same rejects), whichever thread
 * parsed which batch; a worker that throws or dies fails the ingest with nothing acknowledged out
 * of order and the log still clean; a slow stream's lines reach the archiver as they come, not
 * when a batch fills. The workers' parser, accept-only until a batch needs zod (invalid events, or
 * a valid one the fast path leaves to zod), gives what the full parser gives, batch after batch.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import {
  type EventParsePool,
  eventParsePool,
  lazySchemaParser,
  PARSE_OLD_GENERATION_MB,
  parseOnPool,
} from '../../src/app/event-parse-pool.js';
import { BATCH_BYTES, BATCH_LINES, ingestJsonLines } from '../../src/app/ingest.js';
import { verifyStore } from '../../src/app/verify.js';
import { WorkerPoolError } from '../../src/app/worker-pool.js';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { utf8 } from '../../src/core/encoding.js';
import { decodeEntry, type Entry } from '../../src/core/entry.js';
import { parseEvent } from '../../src/core/event.js';
import { makeLineBatch, parseEventBatch } from '../../src/core/event-batch.js';
import { MAX_EVENT_LINE_BYTES } from '../../src/core/event-line.js';
import type { Finding } from '../../src/core/findings.js';
import { parseInputDeliveryId } from '../../src/core/input-delivery.js';
import { segmentKey } from '../../src/core/layout.js';
import { parseSegment } from '../../src/core/segment.js';
import { logFixture, makeKey, sampleEvent } from '../helpers/log-fixture.js';
import { NEAR_LIMIT_EVENT } from '../helpers/near-limit-event.js';
import { fixtureWorker, TS_WORKERS } from '../helpers/verify-workers.js';

const key = makeKey();

/**
 * Lines of several batches: events, invalid lines, blank lines, non-canonical JSON, and with
 * `nearLimit` a valid event the fast path leaves to zod; `valid` only events the fast path takes.
 */
function mixedInput(count: number, { valid = false, nearLimit = false } = {}): string {
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    const e = sampleEvent(i) as unknown as Record<string, unknown>;
    if (nearLimit && i === 3 * BATCH_LINES + 5) lines.push(JSON.stringify(NEAR_LIMIT_EVENT));
    else if (valid) lines.push(JSON.stringify(e));
    else if (i % 97 === 0) lines.push('{"not json');
    else if (i % 89 === 0) lines.push(JSON.stringify({ ...e, outcome: 'sideways' }));
    else if (i % 83 === 0) lines.push('   ');
    else if (i % 2 === 0) lines.push(JSON.stringify(e, null, 1).replace(/\n/g, ''));
    else lines.push(JSON.stringify(e));
  }
  return `${lines.join('\n')}\n`;
}

async function ingest(
  input: string | AsyncIterable<Uint8Array>,
  parsePool?: EventParsePool,
  store = new MemoryStore(),
) {
  const archiver = await logFixture(store, key).open({ maxEvents: 300, maxAgeMs: 20 });
  const rejects: { line: number; code: string }[] = [];
  const run = ingestJsonLines({
    archiver,
    input: typeof input === 'string' ? Readable.from([Buffer.from(input)]) : input,
    inputName: 'mixed.jsonl',
    quarantine: true,
    parsePool,
    onReject: ({ line, error }) => rejects.push({ line, code: error.code }),
  });
  const result = await run.finally(() => archiver.close());
  return { store, result, rejects };
}

/** Every entry of the log in order, without its receive time (a clock reading). */
async function entriesOf(store: MemoryStore): Promise<Omit<Entry, 'receivedAt'>[]> {
  const out: Omit<Entry, 'receivedAt'>[] = [];
  for (let seq = 0; ; seq++) {
    const bytes = await store.get(segmentKey('main', seq));
    if (!bytes) return out;
    const seg = parseSegment(bytes);
    for (const raw of splitEntries(
      decodeBody(seg.body, seg.header.encoding, seg.header.rawLength),
    )) {
      const { receivedAt: _, ...rest } = decodeEntry(raw);
      out.push(rest);
    }
  }
}

async function findingsOf(store: MemoryStore): Promise<Finding[]> {
  const findings: Finding[] = [];
  await verifyStore(store, { trustedKeys: [key.trusted], onFinding: (f) => findings.push(f) });
  return findings;
}

let pool: EventParsePool;

beforeAll(async () => {
  pool = eventParsePool(2, TS_WORKERS);
  // Warm: every batch then goes to the workers (a cold pool parses on this thread until ready).
  await pool.warm();
}, 60_000);

afterAll(() => pool.close());

describe('ingest with a parse pool', () => {
  for (const [what, options, rejected] of [
    ['invalid lines', {}, 10],
    ['only events the fast path takes (the workers never load zod)', { valid: true }, 0],
    ['a valid event only zod accepts, in the fourth batch', { valid: true, nearLimit: true }, 0],
  ] as const) {
    it(`writes the entries and rejects that ingest on one thread writes, in the same order: ${what}`, async () => {
      // A pool of its own: a worker keeps zod once it loaded it.
      const fresh = eventParsePool(2, TS_WORKERS);
      try {
        await fresh.warm();
        const input = mixedInput(6 * BATCH_LINES + 17, options);
        const one = await ingest(input);
        const many = await ingest(input, fresh);
        expect(many.result).toEqual({ ...one.result, lastReceipt: many.result.lastReceipt });
        expect(many.result.lastReceipt?.index).toBe(one.result.lastReceipt?.index);
        expect(many.result.rejected).toBeGreaterThanOrEqual(rejected);
        if (rejected === 0) expect(many.result.rejected).toBe(0);
        expect(many.rejects).toEqual(one.rejects);
        expect(await entriesOf(many.store)).toEqual(await entriesOf(one.store));
        expect(await findingsOf(many.store)).toEqual([]);
      } finally {
        await fresh.close();
      }
    }, 60_000);
  }

  it('writes the entries and rejects that ingest on one thread writes, quarantined too', async () => {
    const input = mixedInput(6 * BATCH_LINES + 17);
    const one = await ingest(input);
    const many = await ingest(input, pool);
    expect(many.result).toEqual({ ...one.result, lastReceipt: many.result.lastReceipt });
    expect(many.result.lastReceipt?.index).toBe(one.result.lastReceipt?.index);
    expect(many.result.rejected).toBeGreaterThan(10);
    expect(many.rejects).toEqual(one.rejects);
    const entries = await entriesOf(many.store);
    expect(entries).toEqual(await entriesOf(one.store));
    expect(entries.filter((e) => e.kind === 'quarantine')).toHaveLength(many.result.quarantined);
    expect(await findingsOf(many.store)).toEqual([]);
  });

  for (const [name, fixture, expected] of [
    // The worker's own error, as it is (the fixture's), not one of the pool's.
    [
      'throws',
      'event-parse-worker-bug.ts',
      (err: unknown) =>
        !(err instanceof WorkerPoolError) &&
        err instanceof Error &&
        err.message === 'parse bug in batch 2',
    ],
    [
      'dies',
      'event-parse-worker-exit.ts',
      (err: unknown) => err instanceof WorkerPoolError && err.code === 'WORKER_FAILED',
    ],
  ] as const) {
    it(`fails the ingest when a worker ${name}, and stores only whole batches before it`, async () => {
      const broken = eventParsePool(1, fixtureWorker(fixture));
      try {
        await broken.warm();
        const input = mixedInput(4 * BATCH_LINES);
        const store = new MemoryStore();
        await expect(ingest(input, broken, store)).rejects.toSatisfy(expected);
        // Stored: the first batch (its lines that are not blank), whole and in order; the log
        // verifies. Nothing of a later batch, which would leave a gap.
        const lines = (await entriesOf(store)).map(
          (e) => parseInputDeliveryId(e.delivery?.id ?? '')?.line,
        );
        const notBlank = input
          .split('\n')
          .flatMap((l, i) => (l.trim() === '' ? [] : [i + 1]))
          .slice(0, BATCH_LINES);
        expect(lines).toEqual(notBlank);
        expect(await findingsOf(store)).toEqual([]);
      } finally {
        await broken.close();
      }
    }, 60_000);
  }

  it('passes a slow stream on line by line: each line is stored before the next is sent', async () => {
    const store = new MemoryStore();
    const archiver = await logFixture(store, key).open({ maxEvents: 300, maxAgeMs: 10 });
    let stalled = false;
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (let i = 1; i <= 3; i++) {
        yield Buffer.from(`${JSON.stringify(sampleEvent(i))}\n`);
        // Without passing the line on at the end of the chunk it would wait for a full batch.
        for (let polls = 0; !(await store.exists(segmentKey('main', i - 1))); polls++) {
          if (polls > 2000) {
            stalled = true;
            return;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }
    const result = await ingestJsonLines({
      archiver,
      input: slow(),
      inputName: 'slow.jsonl',
      parsePool: pool,
    }).finally(() => archiver.close());
    expect(stalled).toBe(false);
    expect(result).toMatchObject({ lines: 3, archived: 3 });
    const ids = (await entriesOf(store)).map(
      (e) => parseInputDeliveryId(e.delivery?.id ?? '')?.line,
    );
    expect(ids).toEqual([1, 2, 3]);
  });
});

describe('the parse threads: heap limits', () => {
  it('start with a bounded young and old generation', async () => {
    const p = eventParsePool(1, fixtureWorker('worker-limits.ts'));
    try {
      // The fixture answers a job with its thread's resourceLimits instead of parsing.
      const limits = (await p.run(makeLineBatch([]))) as unknown;
      expect(limits).toMatchObject({
        maxYoungGenerationSizeMb: 4,
        maxOldGenerationSizeMb: PARSE_OLD_GENERATION_MB,
      });
    } finally {
      await p.close();
    }
  });

  it('parse the largest batch ingest makes, of hostile lines, within those limits', async () => {
    // A batch is sent once it holds BATCH_BYTES, so it holds at most that much plus one line;
    // lines above MAX_EVENT_LINE_BYTES are refused before they are decoded. Each line here is as
    // large as may be parsed, and as costly to parse as JSON gets: an object or array per 2 bytes.
    const fill = (open: string, item: string, close: string) => {
      const n = Math.floor(
        (MAX_EVENT_LINE_BYTES - open.length - close.length + 1) / (item.length + 1),
      );
      return utf8(`${open}${Array(n).fill(item).join(',')}${close}`);
    };
    const big = [
      fill('{"resources":[', '{}', ']}'),
      fill('[', '{}', ']'),
      fill('{"detail":{"a":[', '[]', ']}}'),
    ];
    for (const line of big) expect(line.length).toBeLessThanOrEqual(MAX_EVENT_LINE_BYTES);
    const small = Array.from({ length: BATCH_LINES - 1 }, (_, i) =>
      utf8(JSON.stringify(sampleEvent(i))),
    );
    expect(small.reduce((n, l) => n + l.length, 0)).toBeLessThan(BATCH_BYTES);
    const p = eventParsePool(1, TS_WORKERS);
    try {
      for (const line of big) {
        const lines = [...small, line].map((content, i) => ({ number: i + 1, content }));
        const { parsed } = await parseOnPool(p, makeLineBatch(lines));
        expect(parsed.rejects.map((r) => [r.index, r.code])).toEqual([
          [BATCH_LINES - 1, 'EVENT_INVALID'],
        ]);
      }
    } finally {
      await p.close();
    }
  }, 60_000);
});

describe("the parse workers' parser (lazySchemaParser)", () => {
  const valid = (i: number) => utf8(JSON.stringify(sampleEvent(i)));
  const kinds = [
    valid,
    (i: number) => utf8(JSON.stringify({ ...sampleEvent(i), outcome: 'sideways' })),
    () => utf8('{"not json'),
    () => utf8(JSON.stringify(NEAR_LIMIT_EVENT)),
  ];

  it('gives, batch after batch, what parseEventBatch with parseEvent gives, before and after loading zod', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.tuple(fc.nat(kinds.length - 1), fc.boolean()), { maxLength: 6 }), {
          maxLength: 4,
        }),
        async (batches) => {
          const parse = lazySchemaParser();
          let number = 0;
          for (const batch of batches) {
            // Mostly valid lines, as in real input.
            const lines = makeLineBatch(
              batch.map(([kind, plain]) => {
                number++;
                const make = plain ? valid : (kinds[kind] as (i: number) => Uint8Array);
                return { content: make(number), number };
              }),
            );
            const got = await parse(lines);
            const expected = parseEventBatch(lines, parseEvent);
            expect(got.rejects).toEqual(expected.rejects);
            expect(got.ends).toEqual(expected.ends);
            expect(Buffer.from(got.bytes).equals(Buffer.from(expected.bytes))).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
