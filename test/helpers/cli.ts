/**
 * End-to-end helpers: run the real built CLI (`node dist/cli/main.js`) in a child process, make
 * temp folders that are removed after the file's tests, build a sample store through the CLI, and
 * read a folder store's entries back through the core parsers (for assertions only).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, assert, expect } from 'vitest';
import { decodeBody, splitEntries } from '../../src/core/body-codec.js';
import { fromUtf8 } from '../../src/core/encoding.js';
import { segmentPrefix } from '../../src/core/layout.js';
import { parseSegment } from '../../src/core/segment.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_PATH = join(REPO_ROOT, 'dist', 'cli', 'main.js');
export const EVENTS_FILE = join(REPO_ROOT, 'examples', 'events.jsonl');
export const BAD_EVENTS_FILE = join(REPO_ROOT, 'examples', 'bad-events.jsonl');

export type CliResult = {
  /** Exit status, or `null` when the child was ended by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
};

export type CliOptions = {
  /** Working folder of the child (default: the repository root). */
  readonly cwd?: string;
  /** Added to (or, with `undefined`, removed from) the inherited environment. */
  readonly env?: Record<string, string | undefined>;
  /** Written to the child's stdin, which is then closed; without it stdin is empty. */
  readonly input?: string | Uint8Array;
  /** The child is killed and the call rejects after this long. */
  readonly timeoutMs?: number;
};

/**
 * Throws a message saying what to do when `dist/` has not been built; every CLI test calls it
 * (through {@link runCli} / {@link spawnCli}) so a missing build fails loudly, not obscurely.
 */
export function assertBuilt(): void {
  if (!existsSync(CLI_PATH))
    throw new Error(
      `${CLI_PATH} does not exist: build first (npx tsc -p tsconfig.build.json, or npm run build)`,
    );
}

function childEnv(extra: CliOptions['env']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const [name, value] of Object.entries(extra ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * The environment of an auditor offline, for {@link CliOptions.env}: an endpoint where nothing
 * listens, and no credentials, profile or region. A command that tries AWS fails under it.
 */
export const OFFLINE_ENV: Record<string, string | undefined> = {
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
};

/** Starts `node dist/cli/main.js ...args` without waiting; stdout and stderr are pipes. */
export function spawnCli(
  args: readonly string[],
  options: Omit<CliOptions, 'input' | 'timeoutMs'> = {},
): ChildProcess {
  assertBuilt();
  return spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to completion and returns its exit status and output. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise<CliResult>((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => stdout.push(b));
    child.stderr?.on('data', (b: Buffer) => stderr.push(b));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `auditlock ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr so far:\n${Buffer.concat(stderr).toString()}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      });
    });
    // The child may exit before reading all of stdin (usage errors); that is not our failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

/** `JSON.parse` of a command's stdout, failing the test with the output when it is not JSON. */
export function parseJsonOutput<T = unknown>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    return assert.fail(
      `expected JSON on stdout (exit ${result.code}), got:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
}

/**
 * Registers removal of every folder it makes after the calling file's tests; call at the top
 * level of a test file. Each call of the returned function makes a fresh `mkdtemp` folder.
 */
export function useTempDirs(prefix = 'auditlock-cli-'): () => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

export type KeyFiles = {
  readonly dir: string;
  readonly privateKey: string;
  readonly publicKey: string;
  readonly vkey: string;
};

/** `auditlock keygen --out <dir>/<name>`; fails the test unless it exits 0. */
export async function keygen(dir: string, name = 'keys', keyName?: string): Promise<KeyFiles> {
  const out = join(dir, name);
  const result = await runCli(['keygen', '--out', out, ...(keyName ? ['--name', keyName] : [])]);
  expect(result.code, result.stderr).toBe(0);
  return {
    dir: out,
    privateKey: join(out, 'signing-key.pem'),
    publicKey: join(out, 'signing-key.pub.pem'),
    vkey: join(out, 'signing-key.vkey'),
  };
}

export const SAMPLE_ORIGIN = 'test.auditlock.local/default';
export const SAMPLE_MAX_EVENTS = 500;

/**
 * A store holding examples/events.jsonl (5,000 events, 10 segments of 500) in log `default`,
 * made through the CLI; fails the test unless ingest exits 0.
 */
export async function sampleStore(dir: string): Promise<{ store: string; keys: KeyFiles }> {
  const keys = await keygen(dir, 'keys', SAMPLE_ORIGIN);
  const store = join(dir, 'store');
  const result = await runCli([
    'ingest',
    store,
    EVENTS_FILE,
    '--key',
    keys.privateKey,
    '--origin',
    SAMPLE_ORIGIN,
    '--max-events',
    String(SAMPLE_MAX_EVENTS),
  ]);
  expect(result.code, result.stderr).toBe(0);
  return { store, keys };
}

/** Path of segment `seq` of `log` in a folder store. */
export function segmentPath(store: string, seq: number, log = 'default'): string {
  return join(
    store,
    ...segmentPrefix(log).split('/').filter(Boolean),
    `${String(seq).padStart(20, '0')}.seg`,
  );
}

export type StoredEntry = {
  readonly index: number;
  readonly seq: number;
  readonly kind: string;
  /** `event.id` of an event entry. */
  readonly id: string | undefined;
  /** `delivery.id`, e.g. `events.jsonl:12`. */
  readonly deliveryId: string | undefined;
};

/**
 * Every entry of `log` in a folder store, in log order, read straight from the segment files with
 * the core parsers (no signature or chain checks: run `verify` for those).
 */
export async function readLogEntries(store: string, log = 'default'): Promise<StoredEntry[]> {
  const dir = join(store, ...segmentPrefix(log).split('/').filter(Boolean));
  const names = (await readdir(dir)).filter((n) => /^[0-9]{20}\.seg$/.test(n)).sort();
  const out: StoredEntry[] = [];
  for (const name of names) {
    const seg = parseSegment(new Uint8Array(await readFile(join(dir, name))));
    const leaves = splitEntries(decodeBody(seg.body, seg.header.encoding, seg.header.rawLength));
    leaves.forEach((leaf, i) => {
      const entry = JSON.parse(fromUtf8(leaf)) as {
        kind: string;
        event?: { id?: string };
        delivery?: { id?: string };
      };
      out.push({
        index: seg.header.firstIndex + i,
        seq: seg.checkpoint.seq,
        kind: entry.kind,
        id: entry.event?.id,
        deliveryId: entry.delivery?.id,
      });
    });
  }
  return out;
}

/** The lines of a JSON Lines file, without the trailing empty one. */
export async function readLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
}
