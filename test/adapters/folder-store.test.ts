import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmod,
  mkdir,
  mkdtemp,
  open,
  readdir,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStore, mapFsError, TEMP_DIR } from '../../src/adapters/folder-store.js';
import { tempFileName } from '../../src/adapters/folder-temp.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import {
  AuditlockError,
  ConfigurationError,
  InputError,
  StorageError,
} from '../../src/core/errors.js';
import type { ObjectInfo } from '../../src/core/ports.js';
import { patternBytes } from '../fixtures/pattern.js';
import { describeStoreContract, type LayoutPlanter } from './store-contract.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

async function freshRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'auditlock-folder-'));
}

async function collect(iter: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iter) out.push(info);
  return out;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (e instanceof AuditlockError ? e.code : `not coded: ${String(e)}`),
  );
}

/** Plants hostile layouts under `root`, creating parent folders as a store would. */
function folderPlanter(root: string, outside: string): LayoutPlanter {
  const at = async (key: string): Promise<string> => {
    const path = join(root, ...key.split('/'));
    await mkdir(dirname(path), { recursive: true });
    return path;
  };
  return {
    async sparse(key, size) {
      const fh = await open(await at(key), 'wx', 0o444);
      await fh.truncate(size); // a hole: no byte of it is ever written or read
      await fh.close();
    },
    async symlinkFile(key, target) {
      await symlink(join(root, ...target.split('/')), await at(key));
    },
    async symlinkFolder(key, target) {
      await symlink(join(root, ...target.split('/')), await at(key), 'dir');
    },
    async symlinkOutside(key) {
      const file = join(outside, 'secret');
      await writeFile(file, 'outside bytes');
      await symlink(file, await at(key));
    },
    async fifo(key) {
      execFileSync('mkfifo', [await at(key)]);
    },
    async folder(key) {
      await mkdir(await at(key), { recursive: true });
    },
  };
}

describeStoreContract(
  'FolderStore',
  async () => {
    const root = await freshRoot();
    const outside = await freshRoot();
    return {
      store: new FolderStore(root),
      plant: folderPlanter(root, outside),
      cleanup: async () => {
        await rm(root, { recursive: true, force: true });
        await rm(outside, { recursive: true, force: true });
      },
    };
  },
  { plantsLayouts: true },
);

describe('FolderStore on disk', () => {
  let root: string;
  let store: FolderStore;

  beforeEach(async () => {
    root = await freshRoot();
    store = new FolderStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('publishes read-only files and leaves no temp files behind', async () => {
    await store.putIfAbsent('prod/seg/0001.seg', text('one'));
    await store.putIfAbsent('prod/seg/0001.seg', text('one'));
    await codeOf(store.putIfAbsent('prod/seg/0001.seg', text('two')));
    const mode = (await stat(join(root, 'prod/seg/0001.seg'))).mode;
    expect(mode & 0o222).toBe(0);
    expect(await readdir(join(root, TEMP_DIR))).toEqual([]);
    expect(store.location).toBe(root);
  });

  it('keeps the temp area out of list and out of the key space', async () => {
    await store.putIfAbsent('a', text('a'));
    await writeFile(join(root, TEMP_DIR, '.tmp-stray'), 'partial');
    expect((await collect(store.list(''))).map((o) => o.key)).toEqual(['a']);
    expect(await collect(store.list('.tmp/'))).toEqual([]);
    expect(await codeOf(store.putIfAbsent('.tmp/x', text('x')))).toBe('KEY_INVALID');
    expect(await codeOf(store.get('.tmp'))).toBe('KEY_INVALID');
  });

  it('serves objects written by an earlier instance', async () => {
    await store.putIfAbsent('k/1', text('v'));
    const reopened = new FolderStore(root);
    expect(await reopened.get('k/1')).toEqual(text('v'));
    expect((await reopened.putIfAbsent('k/1', text('v'))).status).toBe('identical');
    expect(await codeOf(reopened.putIfAbsent('k/1', text('w')))).toBe('OBJECT_EXISTS');
  });

  it('reports KEY_CONFLICT when a key would be both a file and a folder', async () => {
    await store.putIfAbsent('a', text('file'));
    await store.putIfAbsent('c/d', text('file'));
    const err = await store.putIfAbsent('a/b', text('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('KEY_CONFLICT');
    expect((err as StorageError).retryable).toBe(false);
    expect(await codeOf(store.putIfAbsent('c', text('x')))).toBe('KEY_CONFLICT');
    expect(await store.get('c')).toBeUndefined();
    expect(await store.exists('c')).toBe(false);
    expect(await store.get('a/b')).toBeUndefined();
  });

  it('refuses reads of a missing root and creates it on the first put', async () => {
    const missing = new FolderStore(join(root, 'not', 'yet'));
    expect(await codeOf(missing.get('k'))).toBe('STORE_NOT_FOUND');
    expect(await codeOf(missing.exists('k'))).toBe('STORE_NOT_FOUND');
    expect(await codeOf(collect(missing.list('')))).toBe('STORE_NOT_FOUND');
    expect((await missing.putIfAbsent('k', text('v'))).status).toBe('created');
    expect(await missing.get('k')).toEqual(text('v'));
  });

  it('refuses a root that is a file', async () => {
    await writeFile(join(root, 'file'), 'x');
    const bad = new FolderStore(join(root, 'file'));
    const err = await bad.putIfAbsent('k', text('v')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).code).toBe('STORE_NOT_A_FOLDER');
    expect(await codeOf(bad.get('k'))).toBe('STORE_NOT_A_FOLDER');
  });

  it('opening for writing a path that is a file, or runs through one, is STORE_NOT_A_FOLDER', async () => {
    await writeFile(join(root, 'file'), 'x');
    for (const path of [join(root, 'file'), join(root, 'file', 'sub', 'store')]) {
      const bad = new FolderStore(path);
      const err = await bad.openForWriting().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as ConfigurationError).code).toBe('STORE_NOT_A_FOLDER');
      expect((err as ConfigurationError).message).not.toMatch(/\n/);
      expect(await codeOf(bad.putIfAbsent('k', text('v')))).toBe('STORE_NOT_A_FOLDER');
      expect(await codeOf(bad.get('k'))).toBe('STORE_NOT_A_FOLDER');
    }
  });

  it('opening for writing creates a missing store folder with its parents', async () => {
    const fresh = new FolderStore(join(root, 'a', 'b', 'store'));
    await fresh.openForWriting();
    expect((await stat(join(root, 'a', 'b', 'store', TEMP_DIR))).isDirectory()).toBe(true);
    expect(await collect(fresh.list(''))).toEqual([]);
  });

  it('maps a segment longer than the filesystem allows to KEY_INVALID', async () => {
    const err = await store.putIfAbsent(`x/${'n'.repeat(300)}`, text('v')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('KEY_INVALID');
  });

  it('lists symlinks as entries of their own (lstat size), never what they point at', async () => {
    await store.putIfAbsent('d/target', text('abc'));
    const fileTarget = join(root, 'd/target');
    await symlink(fileTarget, join(root, 'd/link'));
    await symlink(join(root, 'd'), join(root, 'dirlink'));
    await writeFile(join(root, 'd', 'back\\slash'), 'x');
    await writeFile(join(root, 'd', 'ctl\u0001'), 'x');
    expect(await collect(store.list(''))).toEqual([
      { key: 'd/link', size: Buffer.byteLength(fileTarget) },
      { key: 'd/target', size: 3 },
      { key: 'dirlink', size: Buffer.byteLength(join(root, 'd')) },
    ]);
    expect(await collect(store.list('dirlink/'))).toEqual([]);
  });

  it('lists exactly what a MemoryStore lists for random key sets, prefixes and startAfter', async () => {
    // Segments over a tiny alphabet that collides a lot around "/": "-" 0x2d, "." 0x2e, "0" 0x30.
    const segment = fc
      .array(fc.constantFrom('a', 'b', '-', '.', '0', 'é'), { minLength: 1, maxLength: 2 })
      .map((cs) => cs.join(''))
      .filter((s) => s !== '.' && s !== '..');
    const key = fc.array(segment, { minLength: 1, maxLength: 3 }).map((ss) => ss.join('/'));
    const probe = fc.array(fc.constantFrom('a', 'b', '-', '.', '0', '/', 'é'), { maxLength: 5 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, { maxLength: 10 }),
        probe,
        fc.option(probe, { nil: undefined }),
        async (candidates, prefixChars, afterChars) => {
          // A filesystem cannot hold both `a` and `a/b`; keep the first of any such pair.
          const keys: string[] = [];
          for (const k of candidates) {
            if (!keys.some((o) => k.startsWith(`${o}/`) || o.startsWith(`${k}/`))) keys.push(k);
          }
          const dir = join(root, `run-${run++}`);
          const folder = new FolderStore(dir);
          const memory = new MemoryStore();
          await mkdir(dir);
          for (const k of keys) {
            await folder.putIfAbsent(k, text(k));
            await memory.putIfAbsent(k, text(k));
          }
          const prefix = prefixChars
            .join('')
            .replace(/^\/+/, '')
            .replace(/\/{2,}/g, '/');
          const cleanPrefix = /(^|\/)\.{1,2}\//.test(prefix) ? '' : prefix;
          const options =
            afterChars === undefined ? undefined : { startAfter: afterChars.join('') };
          const want = await collect(memory.list(cleanPrefix, options));
          expect(await collect(folder.list(cleanPrefix, options))).toEqual(want);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('mapFsError', () => {
  const fsError = (code: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${code}: simulated`), { code });

  const kinds = { ConfigurationError, StorageError, InputError } as const;

  it.each([
    ['EACCES', 'ConfigurationError', 'STORE_ACCESS_DENIED', undefined],
    ['EPERM', 'ConfigurationError', 'STORE_ACCESS_DENIED', undefined],
    ['EROFS', 'ConfigurationError', 'STORE_ACCESS_DENIED', undefined],
    ['ENOSPC', 'StorageError', 'STORE_FULL', false],
    ['EDQUOT', 'StorageError', 'STORE_FULL', false],
    ['EIO', 'StorageError', 'STORE_IO', false],
    ['EXDEV', 'StorageError', 'STORE_IO', false],
    ['EMFILE', 'StorageError', 'STORE_UNAVAILABLE', true],
    ['EAGAIN', 'StorageError', 'STORE_UNAVAILABLE', true],
    ['EBUSY', 'StorageError', 'STORE_UNAVAILABLE', true],
    ['ENAMETOOLONG', 'InputError', 'KEY_INVALID', undefined],
  ] as const)('%s becomes %s %s', (errno, kind, code, retryable) => {
    const mapped = mapFsError(fsError(errno), 'write', '/r/k', 'k');
    expect(mapped).toBeInstanceOf(kinds[kind]);
    expect(mapped.code).toBe(code);
    expect(mapped.message).toContain('/r/k');
    expect(mapped.cause).toBeInstanceOf(Error);
    if (retryable !== undefined) expect((mapped as StorageError).retryable).toBe(retryable);
  });

  it('passes coded errors through unchanged', () => {
    const coded = new StorageError('OBJECT_EXISTS', 'x', { retryable: false });
    expect(mapFsError(coded, 'read', '/r')).toBe(coded);
  });
});

// Child processes: real concurrency across processes, and crashes mid-write.
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

type Outcome = { status?: string; code?: string };

function spawnPut(
  root: string,
  key: string,
  seed: number,
  size: number,
  wait: boolean,
): { child: ChildProcess; ready: Promise<void>; outcome: Promise<Outcome | undefined> } {
  const args = ['--import', join(FIXTURES, 'register-ts.mjs'), join(FIXTURES, 'folder-put.ts')];
  args.push(root, key, String(seed), String(size));
  if (wait) args.push('--wait');
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const outcome = new Promise<Outcome | undefined>((resolve, reject) => {
    let last: Outcome | undefined;
    lines.on('line', (line) => {
      if (line === 'ready') markReady();
      else last = JSON.parse(line) as Outcome;
    });
    child.on('error', reject);
    child.on('close', () => {
      markReady();
      resolve(last);
    });
  });
  return { child, ready, outcome };
}

describe('FolderStore across processes', () => {
  let root: string;

  beforeEach(async () => {
    root = await freshRoot();
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function race(seeds: number[], size: number): Promise<Outcome[]> {
    const children = seeds.map((seed) => spawnPut(root, 'shared/key', seed, size, true));
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.child.stdin?.end('go\n');
    return Promise.all(children.map(async (c) => (await c.outcome) ?? {}));
  }

  it('lets exactly one of several processes putting different bytes win', async () => {
    const size = 256 * 1024;
    const seeds = [1, 2, 3, 4, 5, 6];
    const outcomes = await race(seeds, size);
    const winners = outcomes.flatMap((o, i) => (o.status === 'created' ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(outcomes.filter((o) => o.code === 'OBJECT_EXISTS')).toHaveLength(seeds.length - 1);
    const got = await new FolderStore(root).get('shared/key');
    const want = patternBytes(seeds[winners[0] ?? -1] ?? -1, size);
    expect(Buffer.compare(got ?? new Uint8Array(0), want)).toBe(0);
  });

  it('lets every process putting identical bytes succeed, one creating', async () => {
    const outcomes = await race([7, 7, 7, 7, 7, 7], 256 * 1024);
    expect(outcomes.filter((o) => o.status === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'identical')).toHaveLength(5);
  });

  /** Kills a writer mid-write until one leaves its partial temp file behind; returns its name. */
  async function leaveLeftover(): Promise<string> {
    const tempDir = join(root, TEMP_DIR);
    const strays = async (): Promise<string[]> => readdir(tempDir).catch(() => []);
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = new Set(await strays());
      const { child, ready, outcome } = spawnPut(
        root,
        `left/${attempt}`,
        3,
        48 * 1024 * 1024,
        false,
      );
      await ready;
      const fresh = async () => (await strays()).filter((name) => !before.has(name));
      const deadline = Date.now() + 30_000;
      while ((await fresh()).length === 0 && child.exitCode === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1));
      }
      child.kill('SIGKILL');
      await outcome;
      const [left] = await fresh();
      if (left !== undefined) return left;
    }
    throw new Error('no writer was killed mid-write in 5 attempts');
  }

  it('removes a killed writer’s temp file on the next open, and only abandoned temp files', async () => {
    // Prepare: a real leftover of a SIGKILLed writer, and neighbours that must survive.
    const leftover = await leaveLeftover();
    const tempDir = join(root, TEMP_DIR);
    const [, host] = /^\.tmp-([0-9a-f]{8})-/.exec(tempFileName()) ?? [];
    const alive = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      stdio: 'ignore',
    });
    const hex = 'ab'.repeat(12);
    const keep = [
      'not-a-temp-file',
      `.tmp-${host}-${process.pid}-${hex}`, // this process: alive
      `.tmp-${host}-${alive.pid}-${hex}`, // another live process on this host
      `.tmp-00000000-${alive.pid}-${hex}`, // another host: judged by age only, and fresh
      `.tmp-${hex}`, // the older naming, fresh
    ];
    for (const name of keep) await writeFile(join(tempDir, name), 'partial');
    await mkdir(join(tempDir, `.tmp-${'cd'.repeat(12)}`)); // not a regular file
    const old = `.tmp-${'ef'.repeat(12)}`;
    await writeFile(join(tempDir, old), 'partial');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(tempDir, old), twoHoursAgo, twoHoursAgo);
    try {
      // Act
      await new FolderStore(root).openForWriting();
      // Assess
      const left = await readdir(tempDir);
      expect(left).not.toContain(leftover);
      expect(left).not.toContain(old);
      expect(left.sort()).toEqual([...keep, `.tmp-${'cd'.repeat(12)}`].sort());
    } finally {
      alive.kill('SIGKILL');
    }
  });

  it('a new store under a read-only parent, or a read-only store folder, is STORE_UNWRITABLE', async () => {
    // Root ignores permission bits, so the opener runs as `nobody` when this test runs as root.
    // It runs from one bundled file beside the store, not from this checkout, which `nobody` may
    // not be able to read (a clone in a 0700 folder from mktemp -d).
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    await chmod(root, 0o755);
    const opener = join(root, 'folder-open.mjs');
    await build({
      entryPoints: [join(FIXTURES, 'folder-open.ts')],
      outfile: opener,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
    });
    const parent = join(root, 'ro');
    await mkdir(join(parent, 'existing'), { recursive: true });
    await chmod(join(parent, 'existing'), 0o555);
    await chmod(parent, 0o555);
    type Outcome = { kind?: string; code?: string; message?: string; ok?: boolean };
    const openAll = (paths: string[]) =>
      new Promise<Outcome[]>((resolve, reject) => {
        const child = spawn(process.execPath, [opener, ...paths], {
          stdio: ['ignore', 'pipe', 'inherit'],
          ...asUser,
        });
        let out = '';
        child.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.once('error', reject);
        child.once('close', (code) => {
          // A child that could not even start fails the test with what happened, instead of an
          // unhandled parse error and a hang.
          try {
            resolve(
              out
                .trim()
                .split('\n')
                .map((line) => JSON.parse(line) as Outcome),
            );
          } catch {
            reject(
              new Error(`folder-open child exited ${code} with output ${JSON.stringify(out)}`),
            );
          }
        });
      });
    try {
      const outcomes = await openAll([join(parent, 'new', 'store'), join(parent, 'existing')]);
      expect(outcomes).toHaveLength(2);
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({ kind: 'ConfigurationError', code: 'STORE_UNWRITABLE' });
        expect(outcome.message).not.toMatch(/\n/);
      }
      expect(await readdir(parent)).toEqual(['existing']);
    } finally {
      await chmod(parent, 0o755);
      await chmod(join(parent, 'existing'), 0o755);
    }
  });

  it('never exposes a partial object when the writer is killed mid-write', async () => {
    const size = 48 * 1024 * 1024;
    const want = patternBytes(9, size);
    const outcomes: string[] = [];
    for (const [trial, delayMs] of [0, 0, 10, 40].entries()) {
      const key = `crash/${trial}`;
      const tempDir = join(root, TEMP_DIR);
      const strays = async (): Promise<string[]> => readdir(tempDir).catch(() => []);
      const before = new Set(await strays());
      const { child, ready, outcome } = spawnPut(root, key, 9, size, false);
      await ready;
      // Wait until this child's temp file exists (its write has begun), then SIGKILL after delayMs.
      const deadline = Date.now() + 30_000;
      const started = async (): Promise<boolean> =>
        (await strays()).some((name) => !before.has(name));
      while (!(await started()) && child.exitCode === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1));
      }
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await outcome;

      const store = new FolderStore(root);
      const got = await store.get(key);
      if (got === undefined) {
        outcomes.push('absent');
        // The killed writer's partial temp file is still there, and still not an object.
        expect((await strays()).some((name) => !before.has(name))).toBe(true);
        expect(await store.exists(key)).toBe(false);
        expect((await collect(store.list('crash/'))).map((o) => o.key)).not.toContain(key);
        expect((await store.putIfAbsent(key, want)).status).toBe('created');
      } else {
        outcomes.push('complete');
        expect(Buffer.compare(got, want)).toBe(0);
        expect((await store.putIfAbsent(key, want)).status).toBe('identical');
      }
    }
    // The first kills land while the temp file is being written, so the key must be absent.
    expect(outcomes[0]).toBe('absent');
    // Whatever the timing, a stray temp file never shows up as an object.
    const listed = (await collect(new FolderStore(root).list(''))).map((o) => o.key);
    expect(listed).toEqual(['crash/0', 'crash/1', 'crash/2', 'crash/3']);
  });
});
