/** `--kms-key <id|alias|arn>` → a KmsSigner on a client from the SDK's standard configuration chain. */
import { createKmsClient } from '../adapters/aws-config.js';
import { KmsSigner } from '../adapters/kms-signer.js';
import type { Signer } from '../core/ports.js';

/**
 * A signer for an `ECC_NIST_P256` / `SIGN_VERIFY` KMS key. Fetches and checks the public key
 * first, so a wrong key fails before anything is read or written.
 * @throws ConfigurationError `KEY_UNSUPPORTED`, `ACCESS_DENIED`, … (see KmsSigner)
 */
export async function openKmsSigner(
  keyId: string,
): Promise<Signer & { keyArn(): Promise<string> }> {
  const signer = new KmsSigner({ client: createKmsClient(), keyId });
  await signer.publicKey();
  return signer;
}
