/**
 * `auditlock witness keygen|serve|submit|cosign`: a C2SP tlog-witness for auditlock logs, and the
 * client side that gets a log's head cosigned. Thin: parse flags, call one use case, print.
 * docs/WITNESS.md explains what is witnessed and what a cosignature proves.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as z from 'zod';
import {
  LocalEd25519Signer,
  WITNESS_VKEY_FILE,
  writeWitnessKey,
} from '../../adapters/ed25519-key.js';
import { loadPublicKey } from '../../adapters/keys.js';
import { systemClock } from '../../adapters/system-clock.js';
import { HttpWitnessClient } from '../../adapters/witness-http-client.js';
import { Witness, type WitnessLogConfig } from '../../app/witness.js';
import { cosignStore } from '../../app/witness-cosign.js';
import { serveWitness } from '../../app/witness-server.js';
import { type SubmitResult, submitToWitness } from '../../app/witness-submit.js';
import { type CosignerKey, cosignerKey, parseCosignerVkey } from '../../core/cosignature.js';
import { ConfigurationError } from '../../core/errors.js';
import { segmentPrefix } from '../../core/layout.js';
import { type CommandSpec, listOption, parseCommand, stringOption } from '../args.js';
import { EXIT, UsageError } from '../cli-error.js';
import { loadTrustedKeys, loadWitnessVkey } from '../keys.js';
import type { Io } from '../output.js';
import { openStore } from '../stores.js';
import { cosignSpec, keygenSpec, serveSpec, submitSpec } from './witness-specs.js';

export async function witness(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'keygen':
      return keygen(rest, io);
    case 'serve':
      return serve(rest, io);
    case 'submit':
      return submit(rest, io);
    case 'cosign':
      return cosignCommand(rest, io);
    default:
      throw new UsageError(
        `witness: expected keygen, serve, submit or cosign, got ${JSON.stringify(sub ?? '')}`,
      );
  }
}

async function keygen(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(keygenSpec, argv);
  const out = required(p, 'out', keygenSpec);
  const name = required(p, 'name', keygenSpec);
  const written = await writeWitnessKey(out, name);
  io.stdout.write(
    `private key: ${written.privateKeyPath}\npublic key:  ${written.publicKeyPath}\nvkey:        ${written.vkey}\n`,
  );
  return EXIT.ok;
}

async function serve(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(serveSpec, argv);
  const state = await openStore(required(p, 'state', serveSpec), { forWriting: true });
  const { signer, key } = await loadWitnessKey(
    required(p, 'key', serveSpec),
    stringOption(p, 'name'),
  );
  const logs = await loadLogsFile(required(p, 'logs', serveSpec));
  const w = await Witness.open({ store: state, signer, key, logs, clock: systemClock });
  const server = await serveWitness(w, {
    listen: stringOption(p, 'listen') as string,
    onRequest: (r) =>
      io.stderr.write(
        `add-checkpoint ${r.status} ${r.ms.toFixed(1)} ms${r.error ? ` ${String(r.error)}` : ''}\n`,
      ),
  });
  io.stdout.write(`witness ${key.name} listening on ${server.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return EXIT.ok;
}

async function submit(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(submitSpec, argv);
  const storeSpec = p.positionals[0] as string;
  const store = await openStore(storeSpec);
  const client = new HttpWitnessClient(required(p, 'witness', submitSpec));
  const witnessKey = await loadWitnessVkey(required(p, 'witness-key', submitSpec));
  const trustedKeys = await loadTrustedKeys(
    listOption(p, 'pubkey'),
    stringOption(p, 'trusted-keys'),
  );
  const logs = listOption(p, 'log');
  const results: SubmitResult[] = [];
  for (const log of logs.length > 0 ? logs : await logNames(store)) {
    results.push(await submitToWitness({ store, log, trustedKeys, client, witnessKey }));
  }
  return report(results, p.values.json === true, io);
}

async function cosignCommand(argv: string[], io: Io): Promise<number> {
  const p = parseCommand(cosignSpec, argv);
  const store = await openStore(p.positionals[0] as string, { forWriting: true });
  const state = await openStore(required(p, 'state', cosignSpec), { forWriting: true });
  const { signer, key } = await loadWitnessKey(
    required(p, 'key', cosignSpec),
    stringOption(p, 'name'),
  );
  const trustedKeys = await loadTrustedKeys(
    listOption(p, 'pubkey'),
    stringOption(p, 'trusted-keys'),
  );
  const logs = listOption(p, 'log');
  const results = await cosignStore({
    store,
    trustedKeys,
    ...(logs.length > 0 ? { logs } : {}),
    openWitness: (configured) =>
      Witness.open({ store: state, signer, key, logs: configured, clock: systemClock }),
  });
  return report(results, p.values.json === true, io);
}

function report(
  results: readonly (SubmitResult | { ok: false; log: string; code: string; detail: string })[],
  json: boolean,
  io: Io,
): number {
  if (json) io.stdout.write(`${JSON.stringify({ results }, null, 2)}\n`);
  for (const r of results) {
    if (r.ok)
      io.stderr.write(
        `${r.log}: cosigned at tree size ${r.treeSize} (${new Date(r.timestamp * 1000).toISOString()}), ${r.stored} ${r.key}\n`,
      );
    else io.stderr.write(`${r.log}: ${r.code}: ${r.detail}\n`);
  }
  if (results.length === 0) io.stderr.write('no logs found\n');
  return results.length > 0 && results.every((r) => r.ok) ? EXIT.ok : EXIT.findings;
}

/** Names of the logs with segments in `store` (one listing of the top level). */
async function logNames(store: Awaited<ReturnType<typeof openStore>>): Promise<string[]> {
  const names = new Set<string>();
  for await (const o of store.list('')) {
    const log = o.key.split('/')[0] as string;
    if (o.key.startsWith(segmentPrefix(log))) names.add(log);
  }
  return [...names].sort();
}

/**
 * The witness signer and its identity. The name comes from `--name` or from the vkey file written
 * beside the PEM by `witness keygen`, whose key must be the signer's.
 */
async function loadWitnessKey(
  path: string,
  name: string | undefined,
): Promise<{ signer: LocalEd25519Signer; key: CosignerKey }> {
  const signer = await LocalEd25519Signer.load(path);
  const pub = await signer.publicKey();
  const vkeyPath = join(dirname(path), WITNESS_VKEY_FILE);
  if (name !== undefined) return { signer, key: cosignerKey(name, pub, path) };
  if (!existsSync(vkeyPath))
    throw new UsageError(`give --name NAME (no ${vkeyPath} beside the key to take it from)`);
  const fromFile = parseCosignerVkey((await readFile(vkeyPath, 'utf8')).trim(), vkeyPath);
  if (Buffer.compare(Buffer.from(fromFile.publicKey), Buffer.from(pub)) !== 0)
    throw new ConfigurationError(
      'WITNESS_KEY_MISMATCH',
      `${vkeyPath} is not the public key of ${path}`,
    );
  return { signer, key: fromFile };
}

const logsFileSchema = z.strictObject({
  logs: z
    .array(
      z.strictObject({
        origin: z.string().min(1),
        key: z.string().min(1),
        checkpoint: z.string().min(1).optional(),
      }),
    )
    .min(1),
});

/**
 * `--logs FILE`: `{"logs":[{"origin","key": "<the log's vkey line>", "checkpoint"?: "<signed
 * note to start from>"}]}`.
 * @throws ConfigurationError `WITNESS_LOGS_INVALID`; key errors from loadPublicKey.
 */
async function loadLogsFile(path: string): Promise<WitnessLogConfig[]> {
  let parsed: z.infer<typeof logsFileSchema>;
  try {
    parsed = logsFileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch (cause) {
    throw new ConfigurationError(
      'WITNESS_LOGS_INVALID',
      `${path} is not a witness logs file ({"logs":[{"origin","key"}]}): ${(cause as Error).message}`,
      { cause },
    );
  }
  const logs: WitnessLogConfig[] = [];
  for (const l of parsed.logs) {
    const { spki, name } = await loadPublicKey(l.key);
    logs.push({
      origin: l.origin,
      keys: [{ spki, name, label: `${path}: ${l.origin}` }],
      ...(l.checkpoint !== undefined ? { start: l.checkpoint } : {}),
    });
  }
  return logs;
}

function required(p: ReturnType<typeof parseCommand>, name: string, spec: CommandSpec): string {
  const v = stringOption(p, name);
  if (!v)
    throw new UsageError(`${spec.name}: --${name} is required; usage: auditlock ${spec.usage}`);
  return v;
}
