/**
 * What the CLI's commands load at start (issue 14): zod costs a process ~43 ms of CPU and ~14 MiB
 * of RSS. A plain `verify` needs none of it, so its module graph must not reach zod through
 * static imports: the paths that need a schema (a trusted-keys file, `--state`, a bundle
 * manifest, sealed-field options, strict entries) import it when they run. Nor does a plain
 * `ingest`: its entries are made on the parse threads, and the schema loads only to word a
 * refusal, for an entry the archiver makes itself (quarantine, a lost race), `--resume` or
 * `--seal`.
 */
import { describe, expect, it } from 'vitest';
import { staticallyLoadedPackages } from '../helpers/static-imports.js';

/** The chain of modules through which `entry` reaches zod, or undefined (shown on failure). */
function zodChain(entry: string): string | undefined {
  return staticallyLoadedPackages(entry).get('zod')?.join(' -> ');
}

describe('the CLI module graph', () => {
  it('src/cli/commands/verify.ts loads no zod statically', () => {
    expect(zodChain('src/cli/commands/verify.ts')).toBeUndefined();
  });

  it.each(['src/cli/keys.ts', 'src/cli/sealing.ts', 'src/cli/verify-flags.ts'])(
    '%s (shared by verify and ingest) loads no zod statically',
    (file) => {
      expect(zodChain(file)).toBeUndefined();
    },
  );

  it.each([
    'src/app/verify.ts',
    'src/cli/commands/ingest.ts',
    'src/app/ingest.ts',
    'src/app/archiver.ts',
  ])('%s loads no zod statically', (file) => {
    expect(zodChain(file)).toBeUndefined();
  });
});
