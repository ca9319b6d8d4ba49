/**
 * What a module loads when it is imported: every bare package reachable from it through static,
 * value-level imports (not `import type`, not `import()`, which loads only when it runs). The
 * worker threads' entry modules are held to this, so that a package they need only on a rare path
 * (zod, for messages about invalid input) is not loaded by every thread.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Specifiers of a TypeScript file's static value imports and re-exports. */
export function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [
    ...text.matchAll(/(?:^|\n)\s*(import|export)(\s+type\b)?[^'"]*?from\s*'([^']+)'/g),
  ].filter((m) => m[2] === undefined);
  const bare = [...text.matchAll(/(?:^|\n)\s*import\s*'([^']+)'/g)];
  return [...found.map((m) => m[3] as string), ...bare.map((m) => m[1] as string)];
}

/**
 * Every bare package that importing `entry` (a `.ts` file under src/) loads, and the chain of
 * modules through which each was first reached (for the failure message).
 */
export function staticallyLoadedPackages(entry: string): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const visit = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const here = [...chain, file.replace(/.*\/src\//, 'src/')];
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(resolve(file, '..', spec).replace(/\.js$/, '.ts'), here);
      else if (!packages.has(spec)) packages.set(spec, here);
    }
  };
  visit(resolve(entry), []);
  return packages;
}
