/** Loading signers and trusted keys from CLI flags. */
import { readFile } from 'node:fs/promises';
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
import { loadPublicKey } from '../adapters/keys.js';
import { LocalSigner } from '../adapters/local-signer.js';
import { ConfigurationError } from '../core/errors.js';
import type { TrustedKey } from '../core/note.js';
import type { Signer } from '../core/ports.js';
import { UsageError } from './cli-error.js';

/** The signer named by `--key FILE` or `--kms-key ID`. @throws UsageError, ConfigurationError */
export async function loadSigner(
  key: string | undefined,
  kmsKey: string | undefined,
): Promise<Signer> {
  if (key && kmsKey) throw new UsageError('give either --key or --kms-key, not both');
  if (key) return LocalSigner.load(key);
  if (kmsKey) {
    const { openKmsSigner } = await import('./kms-signer-spec.js');
    return openKmsSigner(kmsKey);
  }
  throw new UsageError(
    'a signing key is required: --key <private key PEM> or --kms-key <id|alias|arn>',
  );
}

const trustFileSchema = z.strictObject({
  keys: z
    .array(
      z.strictObject({
        publicKey: z.string().min(1),
        label: z.string().optional(),
        notBefore: z.iso.datetime({ offset: true }).optional(),
        notAfter: z.iso.datetime({ offset: true }).optional(),
      }),
    )
    .min(1),
});

/**
 * Trusted keys from `--pubkey` (PEM or vkey, file or text; repeatable) and `--trusted-keys FILE`
 * (JSON: `{"keys":[{"publicKey": "<PEM or vkey or path>", "notBefore": "...", "notAfter": "..."}]}`).
 * @throws UsageError if none given; ConfigurationError for unreadable keys.
 */
export async function loadTrustedKeys(
  pubkeys: string[],
  trustFile: string | undefined,
): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const p of pubkeys) {
    const { spki, name } = await loadPublicKey(p);
    keys.push({ spki, name, label: p });
  }
  if (trustFile) {
    let parsed: z.infer<typeof trustFileSchema>;
    try {
      parsed = trustFileSchema.parse(JSON.parse(await readFile(trustFile, 'utf8')));
    } catch (cause) {
      throw new ConfigurationError(
        'TRUST_FILE_INVALID',
        `${trustFile} is not a valid trusted-keys file: ${(cause as Error).message}`,
        { cause },
      );
    }
    for (const [i, k] of parsed.keys.entries()) {
      const { spki, name } = await loadPublicKey(k.publicKey);
      keys.push({
        spki,
        name,
        label: k.label ?? `${trustFile}#${i}`,
        notBefore: k.notBefore ? Date.parse(k.notBefore) : undefined,
        notAfter: k.notAfter ? Date.parse(k.notAfter) : undefined,
      });
    }
  }
  if (keys.length === 0)
    throw new UsageError(
      'no trusted public key: give --pubkey <PEM|vkey> or --trusted-keys <file>',
    );
  return keys;
}
