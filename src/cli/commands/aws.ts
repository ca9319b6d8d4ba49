/** Commands for the AWS deployment: `bootstrap` and `pubkey`. */
import { writeFile } from 'node:fs/promises';
import { bootstrap as runBootstrap } from '../../adapters/aws-bootstrap.js';
import { createKmsClient, createS3Client } from '../../adapters/aws-config.js';
import { ConfigurationError } from '../../core/errors.js';
import { formatVerifierKey } from '../../core/key-id.js';
import { intOption, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { openKmsSigner } from '../kms-signer-spec.js';
import type { Io } from '../output.js';
import { bootstrapSpec, pubkeySpec } from './aws-specs.js';

export async function bootstrap(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(bootstrapSpec, argv);
  const bucket = stringOption(p, 'bucket');
  const keyAlias = stringOption(p, 'key-alias');
  if (!bucket || !keyAlias)
    throw new UsageError('bootstrap: --bucket and --key-alias are required');
  const regionOpt = stringOption(p, 'region');
  const s3 = createS3Client(regionOpt ? { region: regionOpt } : {});
  const region =
    regionOpt ??
    (await s3.config.region().catch((cause: unknown) => {
      throw new ConfigurationError(
        'REGION_MISSING',
        'AWS region is not configured: give --region, or set AWS_REGION or a profile with a region',
        { cause },
      );
    }));
  const kms = createKmsClient({ region });
  const result = await runBootstrap({
    s3,
    kms,
    bucket,
    region,
    keyAlias,
    retentionDays: intOption(p, 'retention-days', { min: 1, max: 36_500 }) as number,
  });
  const pem = spkiToPem(result.publicKeySpki);
  const out = stringOption(p, 'pubkey-out');
  if (out) await writeFile(out, pem);
  const config = {
    store: `s3://${result.bucket}/`,
    bucket: result.bucket,
    region: result.region,
    retentionDays: result.retentionDays,
    keyArn: result.keyArn,
    keyAlias: result.keyAlias,
    created: result.created,
    publicKeyPem: pem,
  };
  if (p.values.json) io.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
  else
    io.stdout.write(
      `bucket      s3://${result.bucket} (${result.region}), Object Lock COMPLIANCE ${result.retentionDays} days${result.created.bucket ? ' — created' : ''}\n` +
        `signing key ${result.keyArn} (${result.keyAlias})${result.created.key ? ' — created' : ''}\n` +
        `ingest with: auditlock ingest s3://${result.bucket}/ events.jsonl --kms-key ${result.keyAlias} --retention-days ${result.retentionDays} --origin <unique origin>\n` +
        `public key for verifiers and auditors:\n${pem}`,
    );
  return EXIT.ok;
}

export async function pubkey(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(pubkeySpec, argv);
  const id = stringOption(p, 'kms-key');
  if (!id) throw new UsageError('pubkey: --kms-key is required');
  const signer = await openKmsSigner(id);
  const spki = await signer.publicKey();
  const pem = spkiToPem(spki);
  const out = stringOption(p, 'out');
  if (out) await writeFile(out, pem);
  else io.stdout.write(pem);
  const name = stringOption(p, 'name');
  if (name) io.stdout.write(`${formatVerifierKey(name, spki)}\n`);
  io.stderr.write(`key ${await signer.keyArn()}\n`);
  return EXIT.ok;
}

function spkiToPem(spki: Uint8Array): string {
  const b64 = Buffer.from(spki).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
}
