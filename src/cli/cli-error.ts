import { AuditlockError } from '../core/errors.js';

/**
 * Codes the CLI itself gives (besides those of the core and the use cases). Part of the public
 * interface: scripts branch on them, so never rename one.
 */
export const CLI_CODES = [
  /** Wrong flags or arguments. */
  'USAGE',
  /** The input file does not exist. */
  'INPUT_NOT_FOUND',
  /** The input path is a folder. */
  'INPUT_NOT_A_FILE',
  /** The input file exists but cannot be opened (permissions). */
  'INPUT_UNREADABLE',
  /** The `--rejects` file cannot be created or written (missing folder, a folder, permissions). */
  'REJECTS_UNWRITABLE',
  /** A folder store path names something that is not a folder. */
  'STORE_NOT_A_FOLDER',
  /** A folder store cannot be created (read-only or missing parent, permissions). */
  'STORE_UNWRITABLE',
  /** A file operation failed outside the cases above (the message names the path and errno). */
  'IO_ERROR',
  /** An error from a library that carries no code of ours (the message says what it said). */
  'UNEXPECTED',
  /** A programming error (TypeError, RangeError, ...): a bug; the stack is printed, exit 70. */
  'INTERNAL',
] as const;
export type CliCode = (typeof CLI_CODES)[number];

/** A usage error: wrong flags or arguments. Exit code 2. */
export class UsageError extends AuditlockError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/**
 * Exit codes shared by every command: 0 ok, 1 findings or rejected input, 2 usage, configuration
 * or I/O error, 70 an internal error (a bug; EX_SOFTWARE of BSD sysexits.h).
 */
export const EXIT = { ok: 0, findings: 1, error: 2, internal: 70 } as const;
