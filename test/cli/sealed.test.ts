/**
 * Sealed fields through the real CLI (issue 12): keys-init, ingest --seal, events with and without
 * keys and by --subject, receipt + disclose + verify-receipt --disclosure (a wrong value refused),
 * erase-subject (recorded; an unknown subject refused), verify after erasure, and the stored bytes
 * of the store and the key store searched for the plaintext.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { keygen, runCli, useTempDirs } from '../helpers/cli.js';

const tempDir = useTempDirs('auditlock-sealed-cli-');
const ALICE = 'alice.cli@example.com';
const lines = [
  { id: 'e1', actor: { id: ALICE, name: 'Alice Cli' }, source: { ip: '192.0.2.44' } },
  { id: 'e2', actor: { id: 'bob.cli@example.com', name: 'Bob Cli' } },
  { id: 'e3', actor: { id: ALICE } },
].map((e) =>
  JSON.stringify({ time: '2026-11-26T08:00:00Z', action: 'user.login', outcome: 'success', ...e }),
);

let dir: string;
let pub: string;
let keyArgs: string[];

async function allBytes(root: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const name of await readdir(root, { recursive: true })) {
    const p = join(root, name);
    if ((await stat(p)).isFile()) parts.push(await readFile(p));
  }
  return Buffer.concat(parts);
}

beforeAll(async () => {
  dir = await tempDir();
  const keys = await keygen(dir);
  pub = keys.publicKey;
  keyArgs = ['--keys', join(dir, 'subject-keys'), '--wrap-key', join(dir, 'wrap.key')];
  const init = await runCli(['keys-init', ...keyArgs, '--new-wrap-key']);
  expect(init.code, init.stderr).toBe(0);
  await writeFile(
    join(dir, 'seal.json'),
    JSON.stringify({
      v: 1,
      subject: 'actor.id',
      fields: [{ path: 'actor.id' }, { path: 'actor.name' }, { path: 'source.ip' }],
    }),
  );
  await writeFile(join(dir, 'events.jsonl'), `${lines.join('\n')}\n`);
  const ingest = await runCli([
    'ingest',
    join(dir, 'store'),
    join(dir, 'events.jsonl'),
    '--key',
    keys.privateKey,
    '--seal',
    join(dir, 'seal.json'),
    ...keyArgs,
    '--json',
  ]);
  expect(ingest.code, ingest.stderr).toBe(0);
});

describe('sealed fields through the CLI', () => {
  it('stores no plaintext, and events opens it only with the keys', async () => {
    const bytes = await allBytes(join(dir, 'store'));
    for (const secret of [ALICE, 'Alice Cli', '192.0.2.44'])
      expect(bytes.includes(secret)).toBe(false);
    const withKeys = await runCli(['events', join(dir, 'store'), '--pubkey', pub, ...keyArgs]);
    expect(withKeys.code, withKeys.stderr).toBe(0);
    const first = JSON.parse(withKeys.stdout.split('\n')[0] as string);
    expect(first.event.actor).toEqual({ id: ALICE, name: 'Alice Cli' });
    expect(first.sealed.map((r: { state: string }) => r.state)).toEqual(['open', 'open', 'open']);
    const csv = await runCli(['events', join(dir, 'store'), '--pubkey', pub, '--format', 'csv']);
    expect(csv.stdout).toContain('"[sealed]"');
    expect(csv.stdout).not.toContain(ALICE);
  });

  it('finds a subject by pseudonym, and needs keys for it', async () => {
    const found = await runCli([
      'events',
      join(dir, 'store'),
      '--pubkey',
      pub,
      ...keyArgs,
      '--subject',
      ALICE,
    ]);
    expect(
      found.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).event.id),
    ).toEqual(['e1', 'e3']);
    const noKeys = await runCli([
      'events',
      join(dir, 'store'),
      '--pubkey',
      pub,
      '--subject',
      ALICE,
    ]);
    expect(noKeys.code).toBe(2);
  });

  it('discloses a value for a receipt; a wrong value is refused', async () => {
    const receipt = join(dir, 'e1.tlog-proof');
    expect(
      (await runCli(['receipt', join(dir, 'store'), '0', '--pubkey', pub, '--out', receipt])).code,
    ).toBe(0);
    const out = join(dir, 'e1.disclosure.json');
    const d = await runCli([
      'disclose',
      receipt,
      '--field',
      'source.ip',
      ...keyArgs,
      '--pubkey',
      pub,
      '--out',
      out,
    ]);
    expect(d.code, d.stderr).toBe(0);
    const ok = await runCli([
      'verify-receipt',
      receipt,
      '--pubkey',
      pub,
      '--disclosure',
      out,
      '--json',
    ]);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      valid: true,
      disclosed: [{ field: 'source.ip', value: '192.0.2.44' }],
    });
    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, (await readFile(out, 'utf8')).replace('192.0.2.44', '192.0.2.45'));
    const bad = await runCli([
      'verify-receipt',
      receipt,
      '--pubkey',
      pub,
      '--disclosure',
      wrong,
      '--json',
    ]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ valid: false, code: 'DISCLOSURE_MISMATCH' });
  });

  it('erases a subject: recorded, shown erased, the store still verifies, no plaintext anywhere', async () => {
    const priv = join(dir, 'keys', 'signing-key.pem');
    const erase = await runCli([
      'erase-subject',
      join(dir, 'store'),
      ALICE,
      ...keyArgs,
      '--key',
      priv,
      '--requested-by',
      'dpo@example.com',
      '--legal-basis',
      'GDPR Art. 17(1)(a)',
      '--json',
    ]);
    expect(erase.code, erase.stderr).toBe(0);
    expect(JSON.parse(erase.stdout)).toMatchObject({ index: 3 });
    const again = await runCli([
      'erase-subject',
      join(dir, 'store'),
      ALICE,
      ...keyArgs,
      '--key',
      priv,
      '--requested-by',
      'dpo@example.com',
      '--legal-basis',
      'GDPR Art. 17(1)(a)',
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('SUBJECT_UNKNOWN');
    const csv = await runCli([
      'events',
      join(dir, 'store'),
      '--pubkey',
      pub,
      ...keyArgs,
      '--format',
      'csv',
    ]);
    const rows = csv.stdout.trim().split('\r\n').slice(1);
    expect(rows.map((r) => r.split(',')[8])).toEqual([
      '"[erased]"',
      '"bob.cli@example.com"',
      '"[erased]"',
      '"dpo@example.com"',
    ]);
    const verify = await runCli([
      'verify',
      join(dir, 'store'),
      '--pubkey',
      pub,
      '--strict-entries',
    ]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const census = await runCli([
      'verify',
      join(dir, 'store'),
      '--pubkey',
      pub,
      ...keyArgs,
      '--json',
    ]);
    expect(census.code, census.stderr).toBe(0);
    expect(JSON.parse(census.stdout)).toMatchObject({
      ok: true,
      findings: [],
      sealed: { entries: 3, open: 2, erased: 4, invalid: 0, erasedSubjects: 1 },
    });
    for (const root of ['store', 'subject-keys'])
      expect((await allBytes(join(dir, root))).includes(ALICE)).toBe(false);
  });
});
