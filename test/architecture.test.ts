/**
 * The dependency rules of docs and STYLE.md, enforced: the core is pure (no I/O, no AWS SDK, no
 * adapters), the source mappers are pure, layers only depend downwards
 * (core ← adapters ← app ← cli / lambda), and the package's entry points are what package.json
 * says: `auditlock/core` pure, `auditlock` without the AWS SDK in its import graph.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staticallyLoadedPackages } from './helpers/static-imports.js';

const SRC = resolve('src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'/g),
    ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g),
    ...text.matchAll(/(?:^|\n)\s*import\s*'([^']+)'/g),
  ];
  return found.map((m) => m[1] as string);
}

/** The layer (top folder under src/) a relative import lands in. */
function layerOf(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return relative(SRC, resolve(file, '..', spec)).split('/')[0];
}

const PURE_ALLOWED = /^(zod|@noble\/hashes\/.+|node:crypto|node:zlib|node:buffer)$/;

/** Every bare module specifier reachable from `entry` through relative imports. */
function reachableModules(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of imports(file)) {
      if (spec.startsWith('.')) visit(resolve(file, '..', spec).replace(/\.js$/, '.ts'));
      else bare.add(spec);
    }
  };
  visit(entry);
  return bare;
}

function violations(
  layer: string,
  rule: (file: string, spec: string) => string | undefined,
): string[] {
  return files(join(SRC, layer)).flatMap((f) =>
    imports(f).flatMap((spec) => {
      const why = rule(f, spec);
      return why ? [`${relative(SRC, f)} imports ${spec}: ${why}`] : [];
    }),
  );
}

describe('architecture', () => {
  it('finds the imports it checks (the checker itself works)', () => {
    expect(imports(join(SRC, 'app', 'archiver.ts'))).toContain('../core/seal.js');
    expect(files(join(SRC, 'core')).length).toBeGreaterThan(15);
  });

  it('src/core is pure: only core modules, zod, @noble/hashes and CPU-only node built-ins', () => {
    expect(
      violations('core', (f, spec) => {
        if (spec.startsWith('.'))
          return layerOf(f, spec) === 'core' ? undefined : 'core must not depend on other layers';
        return PURE_ALLOWED.test(spec) ? undefined : 'no I/O, clock or SDK in the core';
      }),
    ).toEqual([]);
  });

  it('src/sources (event mappers) are pure: core and types only', () => {
    expect(
      violations('sources', (f, spec) => {
        if (spec.startsWith('.'))
          return ['core', 'sources'].includes(layerOf(f, spec) ?? '')
            ? undefined
            : 'mappers depend on the core only';
        return PURE_ALLOWED.test(spec) || spec === 'aws-lambda' ? undefined : 'no I/O in mappers';
      }),
    ).toEqual([]);
  });

  it('layers depend only downwards', () => {
    const allowed: Record<string, string[]> = {
      adapters: ['core', 'adapters'],
      app: ['core', 'adapters', 'app'],
      cli: ['core', 'adapters', 'app', 'cli'],
      lambda: ['core', 'adapters', 'app', 'sources', 'lambda'],
    };
    for (const [layer, ok] of Object.entries(allowed))
      expect(
        violations(layer, (f, spec) => {
          const target = layerOf(f, spec);
          return target === undefined || ok.includes(target)
            ? undefined
            : `${layer} must not depend on ${target}`;
        }),
        layer,
      ).toEqual([]);
  });

  it('only adapters talk to AWS', () => {
    for (const layer of ['core', 'app', 'sources'])
      expect(
        violations(layer, (_f, spec) =>
          spec.startsWith('@aws-sdk/') ? 'use an adapter' : undefined,
        ),
        layer,
      ).toEqual([]);
  });

  it('package.json exports name the built form of a source entry point each', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
      exports: Record<string, string | { types: string; default: string }>;
      bin: Record<string, string>;
    };
    const targets = Object.entries(manifest.exports)
      .filter(([path]) => path !== './package.json')
      .map(([path, t]) => [path, typeof t === 'string' ? t : t.default] as const);
    expect(targets.map(([path]) => path)).toEqual(['.', './core', './aws']);
    for (const [path, target] of [...targets, ...Object.entries(manifest.bin)]) {
      const source = target.replace(/^(\.\/)?dist\//, 'src/').replace(/\.js$/, '.ts');
      expect(statSync(source, { throwIfNoEntry: false })?.isFile(), `${path} -> ${source}`).toBe(
        true,
      );
    }
  });

  it('auditlock and auditlock/core do not load the AWS SDK; auditlock/aws does', () => {
    const aws = (entry: string) =>
      [...reachableModules(join(SRC, entry))].filter((m) => m.startsWith('@aws-sdk/')).sort();
    expect(aws('index.ts')).toEqual([]);
    expect(aws('core/index.ts')).toEqual([]);
    expect(aws('aws.ts')).toEqual(['@aws-sdk/client-kms', '@aws-sdk/client-s3']);
  });

  it('the static import walker (used for the worker threads) sees what a module loads', () => {
    // entry.ts holds zod schemas; timestamp.ts and canonical-json.ts load no package at all.
    expect(staticallyLoadedPackages('src/core/entry.ts').get('zod')?.[0]).toBe('src/core/entry.ts');
    expect([...staticallyLoadedPackages('src/core/timestamp.ts').keys()]).toEqual([]);
    expect([...staticallyLoadedPackages('src/core/canonical-json.ts').keys()]).toEqual([]);
  });
});
