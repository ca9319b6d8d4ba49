/** Loading signers and trusted keys from CLI flags. */
import { readFile } from 'node:fs/promises';
// Namespace import: the same API, and lets bundlers tree-shake zod (no locales in the Lambdas).
import * as z from 'zod';
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
 * A validity bound: RFC 3339 with an explicit offset, a real calendar date (no Feb 30: Date.parse
 * would roll it over), within what a JS Date holds.
 */
const boundSchema = z.iso
  .datetime({ offset: true })
  .refine((t) => isRealDate(t), 'not a real calendar date and time');

const trustFileSchema = z.strictObject({
  keys: z
    .array(
      z.strictObject({
        publicKey: z.string().min(1),
        label: z.string().optional(),
        notBefore: boundSchema.optional(),
        notAfter: boundSchema.optional(),
      }),
    )
    .min(1),
});

/** Whether the date and time fields of an RFC 3339 timestamp exist on the calendar. */
function isRealDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(text);
  if (!m || Number.isNaN(Date.parse(text))) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

/** `keys[1].notAfter`: a zod issue path in the notation of the file's JSON. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

function trustFileError(file: string, why: string, cause?: unknown): ConfigurationError {
  return new ConfigurationError(
    'TRUST_FILE_INVALID',
    `${JSON.stringify(file)} is not a valid trusted-keys file: ${why}`,
    { cause },
  );
}

/**
 * Parses a trusted-keys file's text.
 * @throws ConfigurationError `TRUST_FILE_INVALID` naming the first bad fields (`keys[1].notAfter`)
 */
function parseTrustFile(file: string, text: string): z.infer<typeof trustFileSchema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw trustFileError(file, 'not JSON', cause);
  }
  const parsed = trustFileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${fieldPath(i.path)}: ${i.message}`);
    throw trustFileError(file, issues.join('; '), parsed.error);
  }
  for (const [i, k] of parsed.data.keys.entries())
    if (k.notBefore && k.notAfter && Date.parse(k.notBefore) > Date.parse(k.notAfter))
      throw trustFileError(file, `keys[${i}]: notBefore is after notAfter`);
  return parsed.data;
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
    const parsed = parseTrustFile(
      trustFile,
      await readInputFile(trustFile, 'TRUST_FILE', MAX_TRUST_FILE_BYTES),
    );
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
