import { AuditlockError } from '../core/errors.js';

/** A usage error: wrong flags or arguments. Exit code 2. */
export class UsageError extends AuditlockError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, findings: 1, error: 2 } as const;
