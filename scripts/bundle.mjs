#!/usr/bin/env node
// Bundles each Lambda handler into one minified ESM file for a current Node.js runtime, AWS SDK
// clients included (the runtime's built-in SDK lags and may lack conditional writes):
// dist-lambda/<handler>/index.mjs, plus a metafile for size analysis.
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const SRC = join(ROOT, 'src/lambda/handlers');
const OUT = join(ROOT, 'dist-lambda');
const handlers = readdirSync(SRC)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => basename(f, '.ts'));
mkdirSync(OUT, { recursive: true });
const sizes = {};
for (const name of handlers) {
  const outfile = join(OUT, name, 'index.mjs');
  const result = await build({
    entryPoints: [join(SRC, `${name}.ts`)],
    outfile,
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    // ESM builds first (the default for platform node is main, then module): the SDK's dist-es
    // tree-shakes, its dist-cjs does not (about 220 KiB less).
    mainFields: ['module', 'main'],
    metafile: true,
    legalComments: 'none',
    // Error classes name themselves after their constructor (`new.target.name`), and logs and
    // callers read `err.name`: without this they would say `qe` instead of `ConfigurationError`.
    keepNames: true,
    // Some dependencies are CommonJS and call require(); give the ESM bundle one.
    banner: {
      js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
    },
    logLevel: 'warning',
  });
  writeFileSync(join(OUT, name, 'meta.json'), JSON.stringify(result.metafile));
  sizes[name] = statSync(outfile).size;
}
for (const [name, size] of Object.entries(sizes))
  console.log(
    `${name.padEnd(16)} ${(size / 1024).toFixed(0).padStart(5)} KiB  dist-lambda/${name}/index.mjs`,
  );
writeFileSync(join(OUT, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
