/**
 * One error base with a stable `code`, and a few subclasses by kind. Callers and tests branch on
 * `code`, never on message text. Everything read from storage or from an event source is
 * attacker-controlled: parsers turn malformed input into one of these, never a stray SyntaxError.
 */
export class AuditlockError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Stored bytes that do not match what they claim (hash, signature, structure). */
export class IntegrityError<C extends string = string> extends AuditlockError<C> {}

/** Bad input from a producer: an event that fails validation, a malformed line. */
export class InputError<C extends string = string> extends AuditlockError<C> {
  /** Where the problem is, e.g. `line 12` or `record 7f3a…`; field paths go in `issues`. */
  readonly location: string | undefined;
  readonly issues: readonly InputIssue[];

  constructor(
    code: C,
    message: string,
    options?: { cause?: unknown; location?: string; issues?: readonly InputIssue[] },
  ) {
    super(code, message, options);
    this.location = options?.location;
    this.issues = options?.issues ?? [];
  }
}

/** One problem with one field of an input record. `path` is dotted, e.g. `actor.id`, `resources.0.type`. */
export type InputIssue = { readonly path: string; readonly message: string };

/** A store or signer failed. `retryable` says whether the same call may succeed later. */
export class StorageError<C extends string = string> extends AuditlockError<C> {
  readonly retryable: boolean;

  constructor(code: C, message: string, options: { retryable: boolean; cause?: unknown }) {
    super(code, message, options);
    this.retryable = options.retryable;
  }
}

/**
 * Whether `err` is a coded failure that the same call would meet again (an object too large or
 * unreadable, a malformed answer): the caller may report it and go on. Anything else, a
 * retryable StorageError (throttling, a timeout) or an uncoded error, must propagate.
 */
export function isLastingError(err: unknown): err is AuditlockError {
  return err instanceof AuditlockError && (err as { retryable?: boolean }).retryable !== true;
}

/** Wrong setup: a missing key, a bucket without Object Lock, an unknown flag. Never retryable. */
export class ConfigurationError<C extends string = string> extends AuditlockError<C> {}

/** True if `err` is an AuditlockError carrying `code`. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof AuditlockError && err.code === code;
}
