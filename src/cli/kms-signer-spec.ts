import type { Signer } from '../core/ports.js';
import { UsageError } from './cli-error.js';

/** Opens a KMS signer for a key id, alias or ARN. */
export async function openKmsSigner(keyId: string): Promise<Signer> {
  throw new UsageError(`KMS signing is not wired into the CLI yet: ${keyId}`);
}
