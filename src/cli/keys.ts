/** Loading signers and trusted keys from CLI flags. */
import { readFile } from 'node:fs/promises';
import { loadPublicKey } from '../adapters/keys.js';
import { LocalSigner } from '../adapters/local-signer.js';
import { type CosignerKey, parseCosignerVkey } from '../core/cosignature.js';
import { ConfigurationError } from '../core/errors.js';
import type { TrustedKey } from '../core/note.js';
import type { Signer } from '../core/ports.js';
import { listOption, type OptionSpec, type Parsed, stringOption } from './args.js';
import { UsageError } from './cli-error.js';
import { readInputFile } from './input-file.js';

/** A trusted-keys file lists a few keys; anything this large is not one. */
const MAX_TRUST_FILE_BYTES = 1024 * 1024;

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

/**
 * Trusted keys from `--pubkey` (PEM or vkey, file or text; repeatable) and `--trusted-keys FILE`
 * (JSON: `{"keys":[{"publicKey": "<PEM or vkey or path>", "notBefore": "...", "notAfter": "..."}]}`).
 * @throws UsageError if none given; ConfigurationError for unreadable keys, `TRUST_FILE_NOT_FOUND`,
 *   `TRUST_FILE_UNREADABLE`, `TRUST_FILE_INVALID` (naming the field).
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
    const text = await readInputFile(trustFile, 'TRUST_FILE', MAX_TRUST_FILE_BYTES);
    // Loaded only for a trusted-keys file: its schema is zod, which costs a plain run ~40 ms.
    const { parseTrustFile } = await import('./trust-file.js');
    const parsed = parseTrustFile(trustFile, text);
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

/** A witness vkey from text or a file holding it. */
export async function loadWitnessVkey(textOrPath: string): Promise<CosignerKey> {
  if (/^[^+\s]+\+[0-9a-f]{8}\+/.test(textOrPath)) return parseCosignerVkey(textOrPath.trim());
  let text: string;
  try {
    text = await readFile(textOrPath, 'utf8');
  } catch (cause) {
    throw new ConfigurationError('KEY_NOT_FOUND', `no witness vkey file at ${textOrPath}`, {
      cause,
    });
  }
  return parseCosignerVkey(text.trim(), textOrPath);
}

/** `--pubkey` and `--trusted-keys`, as every command that checks a log's signatures reads them. */
export const TRUST_OPTIONS: Readonly<Record<'pubkey' | 'trusted-keys', OptionSpec>> = {
  pubkey: {
    type: 'string',
    multiple: true,
    value: 'PEM',
    help: 'trusted public key (SPKI PEM or vkey, file or text); repeatable',
  },
  'trusted-keys': {
    type: 'string',
    value: 'FILE',
    help: 'JSON file of trusted keys with validity windows (key rotation)',
  },
};

/** The trusted keys a command's {@link TRUST_OPTIONS} give (see {@link loadTrustedKeys}). */
export function loadTrustOptions(p: Parsed): Promise<TrustedKey[]> {
  return loadTrustedKeys(listOption(p, 'pubkey'), stringOption(p, 'trusted-keys'));
}
