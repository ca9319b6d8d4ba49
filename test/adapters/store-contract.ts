/**
 * The shared behaviour suite for every {@link ObjectStore} adapter (memory, folder, S3 against the
 * emulator). It tests only what the contract in `src/core/ports.ts` promises, through the port,
 * so it stays store-agnostic. Keys avoid being both an object and a "folder" of other objects
 * (`a` and `a/b`), which S3 allows but a filesystem cannot. About 1,300 small puts in all.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditlockError, StorageError } from '../../src/core/errors.js';
import {
  isVersionedStore,
  type ObjectInfo,
  type ObjectStore,
  type PutResult,
} from '../../src/core/ports.js';

/**
 * Ways to plant, underneath the store, what its own API never writes: for the hostile-layout
 * cases only a filesystem store can hold. Keys are store keys; targets are store keys too.
 */
export type LayoutPlanter = {
  /** An object of `size` bytes at `key` whose bytes are never written (a sparse file). */
  sparse(key: string, size: number): Promise<void>;
  /** A symlink at `key` pointing at the object `target`. */
  symlinkFile(key: string, target: string): Promise<void>;
  /** A symlink at `key` pointing at the folder holding the objects under `target/`. */
  symlinkFolder(key: string, target: string): Promise<void>;
  /** A symlink at `key` pointing outside the store, at a readable file with other bytes. */
  symlinkOutside(key: string): Promise<void>;
  /** A named pipe (FIFO) at `key`; nothing ever writes to it, so opening it to read would block. */
  fifo(key: string): Promise<void>;
  /** An empty folder at `key`. */
  folder(key: string): Promise<void>;
};

type StoreHandle = { store: ObjectStore; cleanup?: () => Promise<void>; plant?: LayoutPlanter };

const GIB = 1024 ** 3;

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

async function collect(iter: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iter) out.push(info);
  return out;
}

async function listKeys(
  store: ObjectStore,
  prefix: string,
  startAfter?: string,
): Promise<string[]> {
  const options = startAfter === undefined ? undefined : { startAfter };
  return (await collect(store.list(prefix, options))).map((o) => o.key);
}

/** Runs `tasks` with at most `limit` in flight, so remote stores are not flooded. */
async function runLimited<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

async function putAll(store: ObjectStore, keys: readonly string[]): Promise<void> {
  await runLimited(
    32,
    keys.map((k) => () => store.putIfAbsent(k, text(`body of ${k}`))),
  );
}

/** Asserts `promise` rejects with an AuditlockError carrying `code`, and returns that error. */
async function expectCode(promise: Promise<unknown>, code: string): Promise<AuditlockError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuditlockError);
  expect((err as AuditlockError).code).toBe(code);
  return err as AuditlockError;
}

/**
 * Asserts `got` holds exactly `want`'s bytes, whatever Uint8Array subclass the store returns (a
 * Buffer is fine). Big buffers are compared with Buffer.compare: `toEqual` walks them slowly.
 */
function expectBytes(got: Uint8Array | undefined, want: Uint8Array): void {
  expect(got).toBeInstanceOf(Uint8Array);
  if (want.length > 65_536) {
    expect(got?.length).toBe(want.length);
    expect(Buffer.compare(got ?? new Uint8Array(0), want)).toBe(0);
  } else {
    expect(Uint8Array.from(got ?? [])).toEqual(want);
  }
}

/** Sorts by UTF-8 bytes, the order `list` promises. */
function byteSorted(keys: readonly string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Keys every store MUST reject (`KEY_INVALID`) in `putIfAbsent`, `get` and `exists`. */
export const INVALID_KEYS: readonly string[] = [
  '',
  '/a',
  'a/',
  'a//b',
  '..',
  '../a',
  'a/../b',
  'a/..',
  '.',
  'a/./b',
  'a\\b',
  'a\u0000b',
  'a\nb',
  'a\tb',
  'a\u007fb',
  'a\u0085b',
  'a\ud800b',
  'k'.repeat(1025),
];

/**
 * Registers a Vitest `describe` block that checks `makeStore()`'s store against the
 * `ObjectStore` contract. `makeStore` is called once per test and MUST return an empty store;
 * `cleanup`, if given, runs after the test.
 */
export function describeStoreContract(
  name: string,
  makeStore: () => Promise<StoreHandle>,
  options: { readonly plantsLayouts?: boolean } = {},
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let handle: StoreHandle;
    let store: ObjectStore;

    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });

    afterEach(async () => {
      await handle.cleanup?.();
    });

    describe('putIfAbsent and get', () => {
      it('creates an object that get returns byte for byte', async () => {
        const result = await store.putIfAbsent('logs/a.seg', text('hello'));
        expect(result.status).toBe('created');
        expectBytes(await store.get('logs/a.seg'), text('hello'));
        expect(typeof store.location).toBe('string');
      });

      it('resolves identical when the key already holds the same bytes', async () => {
        await store.putIfAbsent('k', text('same'));
        const again = await store.putIfAbsent('k', text('same'));
        expect(again.status).toBe('identical');
        expectBytes(await store.get('k'), text('same'));
      });

      it('refuses different bytes with OBJECT_EXISTS, not retryable, leaving the original', async () => {
        await store.putIfAbsent('k', text('original'));
        for (const other of ['changed!', 'original+', 'origina', '', 'Original']) {
          const err = await expectCode(store.putIfAbsent('k', text(other)), 'OBJECT_EXISTS');
          expect(err).toBeInstanceOf(StorageError);
          expect((err as StorageError).retryable).toBe(false);
        }
        expectBytes(await store.get('k'), text('original'));
      });

      it('keeps no reference to the bytes once a put has settled: the caller may reuse them', async () => {
        // The archiver builds each segment in the buffer of the one before (core/seal.ts scratch).
        const buffer = text('first object');
        await store.putIfAbsent('reuse/a', buffer);
        buffer.set(text('other bytes!'));
        await store.putIfAbsent('reuse/b', buffer);
        expectBytes(await store.get('reuse/a'), text('first object'));
        expectBytes(await store.get('reuse/b'), text('other bytes!'));
      });

      it('returns undefined for a missing key, also one that is only a prefix of keys', async () => {
        await store.putIfAbsent('dir/leaf', text('x'));
        expect(await store.get('missing')).toBeUndefined();
        expect(await store.get('dir')).toBeUndefined();
        expect(await store.get('dir/lea')).toBeUndefined();
      });

      it('exists reports exactly the created keys', async () => {
        expect(await store.exists('e/1')).toBe(false);
        await store.putIfAbsent('e/1', text('1'));
        expect(await store.exists('e/1')).toBe(true);
        expect(await store.exists('e')).toBe(false);
        expect(await store.exists('e/2')).toBe(false);
      });

      it('stores empty objects', async () => {
        expect((await store.putIfAbsent('empty', new Uint8Array(0))).status).toBe('created');
        expectBytes(await store.get('empty'), new Uint8Array(0));
        expect(await store.exists('empty')).toBe(true);
        expect((await store.putIfAbsent('empty', new Uint8Array(0))).status).toBe('identical');
        await expectCode(store.putIfAbsent('empty', text('x')), 'OBJECT_EXISTS');
        expect(await collect(store.list('empty'))).toEqual([{ key: 'empty', size: 0 }]);
      });

      it('stores every byte value unchanged', async () => {
        const all = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);
        await store.putIfAbsent('bin/all', all);
        expectBytes(await store.get('bin/all'), all);
        const crlf = text('line\r\nline\n\u0000\u00ff');
        await store.putIfAbsent('bin/crlf', crlf);
        expectBytes(await store.get('bin/crlf'), crlf);
      });

      it('round-trips a 5 MB object and still detects a one-byte difference', async () => {
        const big = new Uint8Array(randomBytes(5 * 1024 * 1024));
        expect((await store.putIfAbsent('big/5mb', big)).status).toBe('created');
        expectBytes(await store.get('big/5mb'), big);
        expect((await store.putIfAbsent('big/5mb', big.slice())).status).toBe('identical');
        const flipped = big.slice();
        flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
        await expectCode(store.putIfAbsent('big/5mb', flipped), 'OBJECT_EXISTS');
        expect(await collect(store.list('big/'))).toEqual([{ key: 'big/5mb', size: big.length }]);
      });

      it('is not affected by later changes to the caller’s buffers', async () => {
        const bytes = text('abc');
        await store.putIfAbsent('copy', bytes);
        bytes[0] = 0x7a;
        const got = await store.get('copy');
        expectBytes(got, text('abc'));
        if (got !== undefined) got[1] = 0x7a;
        expectBytes(await store.get('copy'), text('abc'));
      });

      it('accepts keys with dots, dashes, underscores and non-ASCII characters', async () => {
        for (const key of ['.hidden', 'a/.b', 'a/..b', 'a/b..', 'x-y_z.seg', 'ü/€/😀', 'sp ace']) {
          expect((await store.putIfAbsent(key, text(key))).status).toBe('created');
          expectBytes(await store.get(key), text(key));
        }
      });
    });

    describe('concurrency', () => {
      it('lets exactly one of many concurrent puts of different bytes win', async () => {
        const n = 16;
        const bodies = Array.from({ length: n }, (_, i) => text(`writer ${i}`));
        const outcomes = await Promise.allSettled(bodies.map((b) => store.putIfAbsent('race', b)));
        const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        expect(won).toHaveLength(1);
        expect((outcomes[won[0] ?? -1] as PromiseFulfilledResult<PutResult>).value.status).toBe(
          'created',
        );
        for (const o of outcomes) {
          if (o.status === 'rejected') {
            expect(o.reason).toBeInstanceOf(StorageError);
            expect((o.reason as StorageError).code).toBe('OBJECT_EXISTS');
            expect((o.reason as StorageError).retryable).toBe(false);
          }
        }
        expectBytes(await store.get('race'), bodies[won[0] ?? -1] as Uint8Array);
      });

      it('lets all concurrent puts of identical bytes succeed, exactly one creating', async () => {
        const results = await Promise.all(
          Array.from({ length: 16 }, () => store.putIfAbsent('same/key', text('payload'))),
        );
        expect(results.filter((r) => r.status === 'created')).toHaveLength(1);
        expect(results.filter((r) => r.status === 'identical')).toHaveLength(15);
        expectBytes(await store.get('same/key'), text('payload'));
      });

      it('lists every pre-existing object exactly once while puts run concurrently', async () => {
        const before = Array.from({ length: 40 }, (_, i) => `c/${String(i * 2).padStart(3, '0')}`);
        const during = Array.from(
          { length: 40 },
          (_, i) => `c/${String(i * 2 + 1).padStart(3, '0')}`,
        );
        await putAll(store, before);
        const seen: string[] = [];
        let i = 0;
        for await (const info of store.list('c/')) {
          seen.push(info.key);
          const key = during[i++];
          if (key !== undefined) await store.putIfAbsent(key, text(key));
        }
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).toEqual(byteSorted(seen));
        for (const key of before) expect(seen).toContain(key);
      });
    });

    describe('list', () => {
      it('orders keys by UTF-8 bytes, with "/" between "." and "0"', async () => {
        const keys = [
          'o/a0',
          'o/a/b',
          'o/a.d',
          'o/a-c',
          'o/a/c/d',
          'o/10',
          'o/2',
          'o/1-0',
          'o/1.0',
          'o/1/0',
          'o/A',
          'o/_',
          'o/~',
          'o/b',
          'o/B/x',
        ];
        await putAll(store, keys);
        const expected = byteSorted(keys);
        // Spelled out once to pin the order the sort above claims.
        expect(expected.slice(0, 8)).toEqual([
          'o/1-0',
          'o/1.0',
          'o/1/0',
          'o/10',
          'o/2',
          'o/A',
          'o/B/x',
          'o/_',
        ]);
        expect(expected.slice(8, 12)).toEqual(['o/a-c', 'o/a.d', 'o/a/b', 'o/a/c/d']);
        expect(await listKeys(store, 'o/')).toEqual(expected);
      });

      it('orders non-ASCII keys by UTF-8 bytes, not UTF-16 code units', async () => {
        // U+FF61 is EF BD A1 in UTF-8 but U+1F600 is F0 9F 98 80: bytes put the emoji last,
        // while UTF-16 (0xD83D < 0xFF61) would put it first.
        const keys = ['u/\u{1f600}', 'u/\uff61', 'u/\u00e9', 'u/z'];
        await putAll(store, keys);
        expect(await listKeys(store, 'u/')).toEqual(['u/z', 'u/\u00e9', 'u/\uff61', 'u/\u{1f600}']);
      });

      it('reports sizes', async () => {
        await store.putIfAbsent('s/one', text('1'));
        await store.putIfAbsent('s/three', text('333'));
        expect(await collect(store.list('s/'))).toEqual([
          { key: 's/one', size: 1 },
          { key: 's/three', size: 3 },
        ]);
      });

      it('filters by plain string prefix, so "a/" excludes "ab/x"', async () => {
        await putAll(store, ['a/x', 'a/y/z', 'ab/x', 'a-b', 'b/x', 'aa']);
        expect(await listKeys(store, 'a/')).toEqual(['a/x', 'a/y/z']);
        expect(await listKeys(store, 'a')).toEqual(['a-b', 'a/x', 'a/y/z', 'aa', 'ab/x']);
        expect(await listKeys(store, 'a/y')).toEqual(['a/y/z']);
        expect(await listKeys(store, 'a/x')).toEqual(['a/x']);
        expect(await listKeys(store, 'ab/')).toEqual(['ab/x']);
        expect(await listKeys(store, 'zzz')).toEqual([]);
        expect(await listKeys(store, 'a/q/')).toEqual([]);
        expect(await listKeys(store, '')).toEqual(['a-b', 'a/x', 'a/y/z', 'aa', 'ab/x', 'b/x']);
      });

      it('startAfter skips keys <= it, whether or not it exists or shares the prefix', async () => {
        const keys = ['p/01', 'p/02', 'p/03/x', 'p/04', 'q/01'];
        await putAll(store, keys);
        expect(await listKeys(store, 'p/', 'p/02')).toEqual(['p/03/x', 'p/04']);
        expect(await listKeys(store, 'p/', 'p/021')).toEqual(['p/03/x', 'p/04']);
        expect(await listKeys(store, 'p/', 'p/03')).toEqual(['p/03/x', 'p/04']);
        expect(await listKeys(store, 'p/', 'p/03/')).toEqual(['p/03/x', 'p/04']);
        expect(await listKeys(store, 'p/', 'p/03/x')).toEqual(['p/04']);
        expect(await listKeys(store, 'p/', 'p/')).toEqual(['p/01', 'p/02', 'p/03/x', 'p/04']);
        expect(await listKeys(store, 'p/', 'a')).toEqual(['p/01', 'p/02', 'p/03/x', 'p/04']);
        expect(await listKeys(store, 'p/', 'p/04')).toEqual([]);
        expect(await listKeys(store, 'p/', 'q')).toEqual([]);
        expect(await listKeys(store, '', 'p/04')).toEqual(['q/01']);
      });

      it('pages past 1,000 objects, in order, each exactly once', async () => {
        const keys = Array.from({ length: 1100 }, (_, i) => `page/${String(i).padStart(5, '0')}`);
        await putAll(store, keys);
        await store.putIfAbsent('pagf', text('after the prefix'));
        expect(await listKeys(store, 'page/')).toEqual(keys);
        expect(await listKeys(store, 'page/', 'page/00049')).toEqual(keys.slice(50));
        expect(await listKeys(store, 'page/', 'page/01049')).toEqual(keys.slice(1050));
        expect(await listKeys(store, 'page/000')).toHaveLength(100);
      });

      it('rejects a prefix that no valid key can start with', async () => {
        for (const prefix of ['/a', 'a//', 'a\\', '../', 'a/./', 'x\u0000']) {
          await expectCode(collect(store.list(prefix)), 'KEY_INVALID');
        }
      });
    });

    describe('bounded reads (maxBytes)', () => {
      /** The one version of `key`, for stores that expose versions. */
      async function onlyVersion(key: string): Promise<string | undefined> {
        if (!isVersionedStore(store)) return undefined;
        const ids: string[] = [];
        for await (const v of store.listVersions(key)) if (v.key === key) ids.push(v.versionId);
        expect(ids).toHaveLength(1);
        return ids[0];
      }

      it('returns an object of exactly maxBytes, and refuses one byte less', async () => {
        const bytes = new Uint8Array(randomBytes(1000));
        await store.putIfAbsent('lim/exact', bytes);
        expectBytes(await store.get('lim/exact', { maxBytes: 1000 }), bytes);
        expectBytes(await store.get('lim/exact', { maxBytes: 1001 }), bytes);
        const err = await expectCode(store.get('lim/exact', { maxBytes: 999 }), 'OBJECT_TOO_LARGE');
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).retryable).toBe(false);
        const versionId = await onlyVersion('lim/exact');
        if (versionId !== undefined && isVersionedStore(store)) {
          expectBytes(await store.getVersion('lim/exact', versionId, { maxBytes: 1000 }), bytes);
          await expectCode(
            store.getVersion('lim/exact', versionId, { maxBytes: 999 }),
            'OBJECT_TOO_LARGE',
          );
        }
      });

      it('bounds empty objects and missing keys like any other', async () => {
        await store.putIfAbsent('lim/empty', new Uint8Array(0));
        expectBytes(await store.get('lim/empty', { maxBytes: 0 }), new Uint8Array(0));
        expect(await store.get('lim/missing', { maxBytes: 0 })).toBeUndefined();
        await store.putIfAbsent('lim/one', text('1'));
        await expectCode(store.get('lim/one', { maxBytes: 0 }), 'OBJECT_TOO_LARGE');
      });

      it('refuses a 5 MB object under a 1 KiB limit, and still serves it unbounded', async () => {
        const big = new Uint8Array(randomBytes(5 * 1024 * 1024));
        await store.putIfAbsent('lim/big', big);
        await expectCode(store.get('lim/big', { maxBytes: 1024 }), 'OBJECT_TOO_LARGE');
        const versionId = await onlyVersion('lim/big');
        if (versionId !== undefined && isVersionedStore(store)) {
          await expectCode(
            store.getVersion('lim/big', versionId, { maxBytes: 1024 }),
            'OBJECT_TOO_LARGE',
          );
        }
        expectBytes(await store.get('lim/big'), big);
        expect(await collect(store.list('lim/'))).toEqual([{ key: 'lim/big', size: big.length }]);
      });

      it('rejects a limit that is not a non-negative integer as a caller bug', async () => {
        await store.putIfAbsent('lim/x', text('x'));
        for (const maxBytes of [-1, 1.5, Number.NaN]) {
          await expect(store.get('lim/x', { maxBytes })).rejects.toBeInstanceOf(RangeError);
        }
      });
    });

    if (options.plantsLayouts) {
      describe('hostile layouts underneath the store', () => {
        const planter = (): LayoutPlanter => {
          if (handle.plant === undefined) throw new Error('makeStore returned no planter');
          return handle.plant;
        };

        it('refuses a sparse multi-GiB object without reading it, but lists its size', async () => {
          const size = 6 * GIB + 3;
          await planter().sparse('huge/seg', size);
          expect(await collect(store.list('huge/'))).toEqual([{ key: 'huge/seg', size }]);
          const err = await expectCode(
            store.get('huge/seg', { maxBytes: 64 * 1024 * 1024 }),
            'OBJECT_TOO_LARGE',
          );
          expect((err as StorageError).retryable).toBe(false);
          // Without a limit the bound is the largest buffer the process can hold.
          await expectCode(store.get('huge/seg'), 'OBJECT_TOO_LARGE');
          expect(await store.exists('huge/seg')).toBe(true);
        });

        it('refuses a symlinked object (to a store object or outside), but lists it', async () => {
          await store.putIfAbsent('s/target', text('abc'));
          await planter().symlinkFile('s/link', 's/target');
          await planter().symlinkOutside('s/out');
          for (const key of ['s/link', 's/out']) {
            await expectCode(store.get(key), 'OBJECT_UNREADABLE');
            await expectCode(store.get(key, { maxBytes: 1 << 20 }), 'OBJECT_UNREADABLE');
            // The key is taken: writing there must not follow the link either.
            expect(await store.exists(key)).toBe(true);
            await expectCode(store.putIfAbsent(key, text('abc')), 'OBJECT_UNREADABLE');
          }
          // Listed, so a verifier can report them, and in key order with the real object.
          expect((await collect(store.list('s/'))).map((o) => o.key)).toEqual([
            's/link',
            's/out',
            's/target',
          ]);
          expectBytes(await store.get('s/target'), text('abc'));
        });

        it('refuses reads through a symlinked folder, and lists the link, not its contents', async () => {
          await store.putIfAbsent('real/seg/1', text('one'));
          await planter().symlinkFolder('alias', 'real');
          await expectCode(store.get('alias/seg/1'), 'OBJECT_UNREADABLE');
          await expectCode(store.get('alias'), 'OBJECT_UNREADABLE');
          await expectCode(store.exists('alias/seg/1'), 'OBJECT_UNREADABLE');
          expect((await collect(store.list(''))).map((o) => o.key)).toEqual([
            'alias',
            'real/seg/1',
          ]);
          expect((await collect(store.list('alias/'))).map((o) => o.key)).toEqual([]);
          // A write under the link is refused instead of landing outside the store's own tree.
          await expectCode(store.putIfAbsent('alias/seg/2', text('two')), 'OBJECT_UNREADABLE');
          expect((await collect(store.list('real/'))).map((o) => o.key)).toEqual(['real/seg/1']);
        });

        it('refuses a FIFO at a key without blocking on it, and lists it', async () => {
          await planter().fifo('p/pipe');
          await expectCode(store.get('p/pipe'), 'OBJECT_UNREADABLE');
          await expectCode(store.get('p/pipe', { maxBytes: 10 }), 'OBJECT_UNREADABLE');
          expect(await store.exists('p/pipe')).toBe(true);
          await expectCode(store.putIfAbsent('p/pipe', text('x')), 'OBJECT_UNREADABLE');
          expect(await collect(store.list('p/'))).toEqual([{ key: 'p/pipe', size: 0 }]);
        });

        it('treats a folder at a key as no object (a prefix), never as readable bytes', async () => {
          await planter().folder('f/dir');
          expect(await store.get('f/dir')).toBeUndefined();
          expect(await store.get('f/dir', { maxBytes: 10 })).toBeUndefined();
          expect(await store.exists('f/dir')).toBe(false);
          await expectCode(store.putIfAbsent('f/dir', text('x')), 'KEY_CONFLICT');
          expect(await collect(store.list('f/'))).toEqual([]);
        });
      });
    }

    describe('invalid keys', () => {
      it.each(INVALID_KEYS.map((k) => [JSON.stringify(k).slice(0, 40), k]))(
        'rejects %s with KEY_INVALID everywhere',
        async (_label, key) => {
          await expectCode(store.putIfAbsent(key, text('x')), 'KEY_INVALID');
          await expectCode(store.get(key), 'KEY_INVALID');
          await expectCode(store.exists(key), 'KEY_INVALID');
        },
      );

      it('creates nothing for a rejected key', async () => {
        await expectCode(store.putIfAbsent('a/../b', text('x')), 'KEY_INVALID');
        await expectCode(store.putIfAbsent('/b', text('x')), 'KEY_INVALID');
        expect(await listKeys(store, '')).toEqual([]);
      });
    });
  });
}
