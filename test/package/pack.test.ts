/**
 * The published package, as a user gets it: `npm pack` the built tree, install the tarball into a
 * fresh project in a temp folder, and use it from there: the `auditlock`, `auditlock/core` and
 * `auditlock/aws` entry points import and work (the packed code verifies the golden log), their
 * type declarations resolve, deep imports are refused (only `exports` is public), and the
 * installed `auditlock` bin runs.
 *
 * No network: the temp project gets a lock file made of the tarball plus the runtime entries of
 * the repository's own package-lock.json (what `npm ci --omit=dev` would install), and
 * `npm ci --offline` takes their tarballs from the npm cache that the repository's own `npm ci`
 * filled. A dependency the package needs but does not declare is then missing, as for a user.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

const run = promisify(execFile);
const GOLDEN = join(REPO_ROOT, 'test', 'vectors', 'golden');

type PackageJson = {
  name: string;
  version: string;
  license: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  engines: Record<string, string>;
};
type LockEntry = { dev?: boolean } & Record<string, unknown>;

const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Every file `exports` and `bin` name, relative to the package root. */
function publishedFiles(): string[] {
  const targets = Object.values(manifest.exports).flatMap((t) =>
    typeof t === 'string' ? [t] : Object.values(t),
  );
  return [...targets, ...Object.values(manifest.bin)].map((p) => p.replace(/^\.\//, ''));
}

/** The temp project's lock: the tarball plus the repository lock's runtime (non-dev) entries. */
async function lockFor(tarball: string, project: Record<string, unknown>) {
  const repoLock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const integrity = `sha512-${createHash('sha512')
    .update(await readFile(tarball))
    .digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': project,
    'node_modules/auditlock': {
      version: manifest.version,
      resolved: `file:${tarball}`,
      integrity,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(repoLock.packages))
    if (path !== '' && entry.dev !== true) packages[path] = entry;
  return { name: 'pack-smoke', version: '0.0.0', lockfileVersion: 3, requires: true, packages };
}

/** Runs `node --input-type=module -e <code>` in `cwd`; returns stdout. */
async function nodeEval(cwd: string, code: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
    cwd,
    timeout: 30_000,
  });
  return stdout;
}

describe('the npm package', () => {
  let dir: string;
  let app: string;
  let packed: { files: { path: string }[] };

  beforeAll(async () => {
    for (const file of publishedFiles())
      if (!existsSync(join(REPO_ROOT, file)))
        throw new Error(`${file} (named in package.json) does not exist: run npm run build`);
    dir = await mkdtemp(join(tmpdir(), 'auditlock-pack-'));
    app = join(dir, 'app');
    const { stdout } = await run(
      'npm',
      ['pack', '--json', '--pack-destination', dir, '--no-fund', '--no-audit'],
      { cwd: REPO_ROOT, timeout: 60_000 },
    );
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    if (info === undefined) throw new Error('npm pack reported nothing');
    packed = info;
    const tarball = join(dir, info.filename);
    const project = {
      name: 'pack-smoke',
      version: '0.0.0',
      private: true,
      type: 'module',
      dependencies: { auditlock: `file:${tarball}` },
    };
    await run('mkdir', [app]);
    await writeFile(join(app, 'package.json'), JSON.stringify(project, null, 2));
    await writeFile(
      join(app, 'package-lock.json'),
      JSON.stringify(await lockFor(tarball, project), null, 2),
    );
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: app,
      timeout: 100_000,
    });
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds the built entry points, the CLI and the docs, and no sources or tests', () => {
    const paths = packed.files.map((f) => f.path);
    for (const file of publishedFiles()) expect(paths, file).toContain(file);
    for (const file of ['dist/index.d.ts', 'dist/core/index.d.ts', 'dist/aws.d.ts', 'README.md'])
      expect(paths, file).toContain(file);
    expect(paths.filter((p) => /^(src|test|scripts|bench|infra)\//.test(p))).toEqual([]);
  });

  it('imports auditlock and verifies the golden log with the packed code', async () => {
    const out = await nodeEval(
      app,
      `import { FolderStore, loadPublicKey, verifyStore, Archiver, LocalSigner, MemoryStore } from 'auditlock';
       const { spki } = await loadPublicKey(${JSON.stringify(join(GOLDEN, 'signing-key.pub.pem'))});
       const result = await verifyStore(new FolderStore(${JSON.stringify(join(GOLDEN, 'store'))}), {
         trustedKeys: [{ spki }], strictEntries: true,
       });
       const kinds = [Archiver, LocalSigner, MemoryStore].map((c) => typeof c);
       console.log(JSON.stringify({ ok: result.ok, findings: result.findings, treeSize: result.logs[0]?.treeSize, kinds }));`,
    );
    const expected = JSON.parse(await readFile(join(GOLDEN, 'EXPECTED.json'), 'utf8')) as {
      leafHashes: string[];
    };
    expect(JSON.parse(out)).toEqual({
      ok: true,
      findings: 0,
      treeSize: expected.leafHashes.length,
      kinds: ['function', 'function', 'function'],
    });
  });

  it('imports auditlock/core and parses a golden segment with it', async () => {
    const out = await nodeEval(
      app,
      `import { readFileSync } from 'node:fs';
       import * as core from 'auditlock/core';
       const seg = core.parseSegment(new Uint8Array(readFileSync(${JSON.stringify(
         join(GOLDEN, 'store', 'default', 'seg', '00000000000000000000.seg'),
       )})));
       console.log(JSON.stringify({ seq: seg.checkpoint.seq, treeSize: seg.checkpoint.treeSize,
         origin: seg.checkpoint.origin, hasS3: 'S3Store' in core, hasFolder: 'FolderStore' in core }));`,
    );
    expect(JSON.parse(out)).toEqual({
      seq: 0,
      treeSize: 3,
      origin: 'golden.auditlock.example/v1',
      hasS3: false,
      hasFolder: false,
    });
  });

  it('imports auditlock/aws', async () => {
    const out = await nodeEval(
      app,
      `import { S3Store, KmsSigner, bootstrap, createS3Client, parseS3Url } from 'auditlock/aws';
       console.log(JSON.stringify([typeof S3Store, typeof KmsSigner, typeof bootstrap,
         typeof createS3Client, parseS3Url('s3://bucket/some/prefix')]));`,
    );
    expect(JSON.parse(out)).toEqual([
      'function',
      'function',
      'function',
      'function',
      { bucket: 'bucket', prefix: 'some/prefix' },
    ]);
  });

  it('refuses deep imports past the exports map', async () => {
    const out = await nodeEval(
      app,
      `try { await import('auditlock/dist/core/hash.js'); console.log('imported'); }
       catch (err) { console.log(err.code); }`,
    );
    expect(out.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('resolves the type declarations of every entry point', async () => {
    await writeFile(
      join(app, 'check.ts'),
      [
        "import { type Finding, verifyStore } from 'auditlock';",
        "import { type Checkpoint, parseCheckpoint } from 'auditlock/core';",
        "import { S3Store } from 'auditlock/aws';",
        'const f: Finding[] = [];',
        'const c: Checkpoint = parseCheckpoint("");',
        'export const used = [f, c, verifyStore, S3Store];',
        '',
      ].join('\n'),
    );
    // The repository's compiler, on the temp project: a missing .d.ts or a wrong `types`
    // condition is a TS2307 here.
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        '--typeRoots',
        join(REPO_ROOT, 'node_modules', '@types'),
        'check.ts',
      ],
      { cwd: app, timeout: 110_000 },
    ).then(
      () => ({ code: 0, out: '' }),
      (err: { code?: number; stdout?: string }) => ({ code: err.code, out: err.stdout ?? '' }),
    );
    expect(result).toEqual({ code: 0, out: '' });
  }, 120_000);

  it('installs the auditlock bin, which prints its usage and verifies a log', async () => {
    const bin = join(app, 'node_modules', '.bin', 'auditlock');
    const help = await run(bin, ['--help'], { cwd: app, timeout: 30_000 });
    expect(help.stdout).toMatch(/^usage: auditlock /im);
    const verified = await run(
      bin,
      ['verify', join(GOLDEN, 'store'), '--pubkey', join(GOLDEN, 'signing-key.pub.pem'), '--json'],
      { cwd: app, timeout: 30_000 },
    );
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, findings: [] });
  });
});
