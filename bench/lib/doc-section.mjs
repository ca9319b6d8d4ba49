/**
 * Sections of docs/PERFORMANCE.md that one benchmark owns, between `<!-- bench-NAME:begin -->`
 * and `<!-- bench-NAME:end -->`, rewritten by that benchmark's `--doc` flag or by bench/run.mjs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PERFORMANCE_DOC = fileURLToPath(new URL('../../docs/PERFORMANCE.md', import.meta.url));

/**
 * Replaces the `name` section of `path` with `markdown`.
 * @throws Error if the document has no such section (its markers are placed by hand).
 */
export function writeDocSection(name, markdown, path = PERFORMANCE_DOC) {
  const begin = `<!-- bench-${name}:begin -->`;
  const end = `<!-- bench-${name}:end -->`;
  const doc = readFileSync(path, 'utf8');
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${path} has no ${begin} … ${end} section`);
  writeFileSync(path, `${doc.slice(0, a)}${begin}\n${markdown.trimEnd()}\n${doc.slice(b)}`);
}
