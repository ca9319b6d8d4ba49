/**
 * The CLI loads a command's code only when that command runs (src/cli/commands/index.ts): the
 * entry module reaches no package statically, and each command's name is the name its own spec
 * declares, so dispatch by name and `--help` agree.
 */
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { staticallyLoadedPackages } from '../helpers/static-imports.js';

describe('command loading', () => {
  it('src/cli/main.ts statically loads nothing beyond Node built-ins', () => {
    const packages = [...staticallyLoadedPackages('src/cli/main.ts').keys()];
    expect(packages.filter((p) => !p.startsWith('node:'))).toEqual([]);
  });

  it('each command loads the spec of its own name, and names are unique', async () => {
    const loaded = await Promise.all(commands.map((c) => c.load()));
    expect(loaded.map((c) => c.spec.name)).toEqual(commands.map((c) => c.name));
    expect(new Set(commands.map((c) => c.name)).size).toBe(commands.length);
  });
});
