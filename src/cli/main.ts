#!/usr/bin/env node
/**
 * The `auditlock` command line. Thin: parse arguments, call one use case, map the result to
 * output and an exit status (0 ok, 1 findings or rejected input, 2 usage, configuration or I/O
 * error, 70 a bug). Every failure is one line, `error: <CODE>: <message>` (see formatError).
 */
import { AuditlockError, StorageError } from '../core/errors.js';
import { helpText, wantsHelp } from './args.js';
import { EXIT, UsageError } from './cli-error.js';
import { type Command, commands } from './commands/index.js';
import { escapeText, type Io } from './output.js';

/** The command list; it loads every command's module for its summary, so only help prints it. */
async function usage(): Promise<string> {
  const loaded: Command[] = await Promise.all(commands.map((c) => c.load()));
  const width = Math.max(...loaded.map((c) => c.spec.name.length)) + 2;
  return [
    'Usage: auditlock <command> [options]',
    '',
    'Tamper-evident audit logs: signed, hash-chained Merkle segments in a write-once store.',
    '',
    'Commands:',
    ...loaded.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    "Run 'auditlock <command> --help' for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(await usage());
    return name ? EXIT.ok : EXIT.error;
  }
  const known = commands.find((c) => c.name === name);
  if (!known) {
    io.stderr.write(
      `${formatError(new UsageError(`unknown command ${JSON.stringify(name)}`)).text}\n${await usage()}`,
    );
    return EXIT.error;
  }
  try {
    const command = await known.load();
    if (wantsHelp(rest)) {
      io.stdout.write(helpText(command.spec));
      return EXIT.ok;
    }
    return await command.run(rest, io);
  } catch (err) {
    const { text, exit } = formatError(err);
    io.stderr.write(`${text}\n`);
    return exit;
  }
}

/** Programming errors: these mean a bug in auditlock, never bad input or a failed store. */
const BUG_CLASSES = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/**
 * The one report of a failed command: `error: <CODE>: <message>` on one line, control characters
 * escaped (messages echo input, file names and stored bytes), exit status 2. A Node file error
 * (ENOENT, EISDIR, EACCES, ...) is `IO_ERROR` with its errno and path in the message. Only a
 * programming error (a bug) adds its stack, and exits 70.
 */
export function formatError(err: unknown): { text: string; exit: number } {
  const line = (code: string, message: string) => `error: ${code}: ${escapeText(message)}`;
  if (err instanceof AuditlockError) {
    const transient =
      err instanceof StorageError && err.retryable ? ' (transient: a retry may succeed)' : '';
    return { text: line(err.code, `${err.message}${transient}`), exit: EXIT.error };
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof Error && typeof errno === 'string' && /^E[A-Z0-9]+$/.test(errno))
    return { text: line('IO_ERROR', err.message), exit: EXIT.error };
  if (BUG_CLASSES.some((c) => err instanceof c)) {
    const e = err as Error;
    const stack = (e.stack ?? '').split('\n').slice(1).join('\n');
    return {
      text: `${line('INTERNAL', `${e.name}: ${e.message} (a bug in auditlock; please report it with this stack)`)}\n${escapeStack(stack)}`,
      exit: EXIT.internal,
    };
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { text: line('UNEXPECTED', message), exit: EXIT.error };
}

function escapeStack(stack: string): string {
  return stack
    .split('\n')
    .map((l) => escapeText(l))
    .join('\n');
}

/**
 * The AWS SDK warns on every run under Node 20 that releases after January 2027 need Node 22. The
 * SDK versions are pinned in the lock file and the code runs on both; the README says so once, so
 * the CLI keeps that one warning out of every command's output. Other warnings still print.
 */
function quietSdkNodeWarning(): void {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name === 'NodeVersionSupportWarning' || w.message.startsWith('NodeVersionSupportWarning'))
      return;
    for (const l of listeners) l(w);
  });
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry || process.argv[1]?.endsWith('/auditlock')) {
  quietSdkNodeWarning();
  main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  }).then((code) => {
    process.exitCode = code;
  });
}
