/**
 * Argument parsing on top of node:util parseArgs: every command declares its options once, and
 * gets `--help` text and precise usage errors from the declaration.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './cli-error.js';

export type OptionSpec = {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  readonly default?: string | boolean;
  readonly value?: string;
  readonly help: string;
};

export type CommandSpec = {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly description?: string;
  readonly options: Record<string, OptionSpec>;
  readonly positionals: { min: number; max: number };
};

export type Parsed = {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
};

/** Help text for one command. */
export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: auditlock ${spec.usage}`, '', spec.summary];
  if (spec.description) lines.push('', spec.description);
  lines.push('', 'Options:');
  const rows = Object.entries({
    ...spec.options,
    help: { type: 'boolean', help: 'show this help' } as OptionSpec,
  }).map(
    ([name, o]) =>
      [
        `  --${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`,
        `${o.help}${o.default !== undefined ? ` (default: ${o.default})` : ''}`,
      ] as const,
  );
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  for (const [l, r] of rows) lines.push(l.padEnd(width) + r);
  return `${lines.join('\n')}\n`;
}

/** Whether argv asks for a command's help (`--help` or `-h`); the CLI answers it before parsing. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * Parses argv for one command (`--help` is handled before, by the dispatcher).
 * @throws UsageError naming the unknown flag, missing value or wrong number of arguments.
 */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([k, o]) => [
      k,
      {
        type: o.type,
        ...(o.multiple ? { multiple: true } : {}),
        ...(o.short ? { short: o.short } : {}),
      },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${spec.name}: ${(err as Error).message}`);
  }
  const { min, max } = spec.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max)
    throw new UsageError(
      `${spec.name}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}; usage: auditlock ${spec.usage}`,
    );
  const values: Parsed['values'] = {};
  for (const [k, o] of Object.entries(spec.options))
    values[k] = (parsed.values[k] as Parsed['values'][string]) ?? o.default;
  return { values, positionals: parsed.positionals };
}

/** Reads a non-negative integer option. @throws UsageError */
export function intOption(
  p: Parsed,
  name: string,
  { min = 0, max = Number.MAX_SAFE_INTEGER } = {},
): number | undefined {
  const v = p.values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(
      `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
    );
  return Number(v);
}

export function stringOption(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function listOption(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}
