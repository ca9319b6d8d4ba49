#!/usr/bin/env node
/**
 * The `auditlock` command line. Thin: parse arguments, call one use case, map the result to
 * output and an exit status (0 ok, 1 findings or rejected input, 2 usage or I/O error).
 */
import { AuditlockError, ConfigurationError, StorageError } from '../core/errors.js';
import { type CommandSpec, helpText, wantsHelp } from './args.js';
import { EXIT, UsageError } from './cli-error.js';
import { extraCommands } from './commands/index-extra.js';
import { ingest, ingestSpec } from './commands/ingest.js';
import { keygen, keygenSpec } from './commands/keygen.js';
import { prove, proveSpec } from './commands/prove.js';
import { verify, verifySpec } from './commands/verify.js';
import { verifyProof, verifyProofSpec } from './commands/verify-proof.js';
import type { Io } from './output.js';

type Command = { spec: CommandSpec; run: (argv: string[], io: Io) => Promise<number> };

const commands: Command[] = [
  { spec: keygenSpec, run: keygen },
  { spec: ingestSpec, run: ingest },
  { spec: verifySpec, run: verify },
  { spec: proveSpec, run: prove },
  { spec: verifyProofSpec, run: verifyProof },
  ...extraCommands,
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.spec.name.length)) + 2;
  return [
    'Usage: auditlock <command> [options]',
    '',
    'Tamper-evident audit logs: signed, hash-chained Merkle segments in a write-once store.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    "Run 'auditlock <command> --help' for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name ? EXIT.ok : EXIT.error;
  }
  const command = commands.find((c) => c.spec.name === name);
  if (!command) {
    io.stderr.write(`auditlock: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT.error;
  }
  if (wantsHelp(rest)) {
    io.stdout.write(helpText(command.spec));
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    io.stderr.write(`${describeError(err)}\n`);
    return EXIT.error;
  }
}

function describeError(err: unknown): string {
  if (err instanceof UsageError) return `auditlock: ${err.message}`;
  if (err instanceof ConfigurationError)
    return `auditlock: configuration error ${err.code}: ${err.message}`;
  if (err instanceof StorageError)
    return `auditlock: storage error ${err.code}${err.retryable ? ' (transient)' : ''}: ${err.message}`;
  if (err instanceof AuditlockError) return `auditlock: ${err.code}: ${err.message}`;
  return `auditlock: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
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
