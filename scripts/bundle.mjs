#!/usr/bin/env node
// Bundles each Lambda handler into one minified ESM file for a current Node.js runtime, AWS SDK
// clients included (the runtime's built-in SDK lags and may lack conditional writes):
// dist-lambda/<handler>/index.mjs, plus a metafile for size analysis.
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

const SRC = 'src/lambda/handlers';
const OUT = 'dist-lambda';
const handlers = readdirSync(SRC).filter((f) => f.endsWith('.ts')).map((f) => basename(f, '.ts'));
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
    metafile: true,
    legalComments: 'none',
    // Some dependencies are CommonJS and call require(); give the ESM bundle one.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: 'warning',
  });
  writeFileSync(join(OUT, name, 'meta.json'), JSON.stringify(result.metafile));
  sizes[name] = statSync(outfile).size;
}
for (const [name, size] of Object.entries(sizes)) console.log(`${name.padEnd(16)} ${(size / 1024).toFixed(0).padStart(5)} KiB  ${OUT}/${name}/index.mjs`);
writeFileSync(join(OUT, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
