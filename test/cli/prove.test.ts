/**
 * `auditlock prove` and `auditlock verify-proof` through the real CLI: proofs by leaf index and by
 * event id verify offline with the public key, and any single changed hash or entry byte fails.
 */
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CliResult,
  EVENTS_FILE,
  type KeyFiles,
  keygen,
  parseJsonOutput,
  readLines,
  runCli,
  SAMPLE_ORIGIN,
  sampleStore,
  segmentPath,
  useTempDirs,
} from '../helpers/cli.js';
import { forge } from '../helpers/forge.js';
import { makeKey } from '../helpers/log-fixture.js';

const tempDir = useTempDirs();

type ProofResult =
  | {
      valid: true;
      origin: string;
      index: number;
      treeSize: number;
      segment: string;
      sealedAt: string;
      entry: { kind: string; event: { id: string }; delivery: { id: string } };
    }
  | { valid: false; code: string; detail: string };

let dir: string;
let store: string;
let keys: KeyFiles;
let eventIds: string[];

beforeAll(async () => {
  dir = await tempDir();
  ({ store, keys } = await sampleStore(dir));
  eventIds = (await readLines(EVENTS_FILE)).map((l) => (JSON.parse(l) as { id: string }).id);
});

async function verifyProof(
  file: string,
  ...extra: string[]
): Promise<{ result: CliResult; proof: ProofResult }> {
  const result = await runCli([
    'verify-proof',
    file,
    '--pubkey',
    keys.publicKey,
    '--json',
    ...extra,
  ]);
  return { result, proof: parseJsonOutput<ProofResult>(result) };
}

/** Writes a copy of the proof at `file` with line `lineNo` (0-based) changed by `edit`. */
async function editedProof(
  file: string,
  name: string,
  edit: (lines: string[]) => void,
): Promise<string> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  edit(lines);
  const out = join(dir, name);
  await writeFile(out, lines.join('\n'));
  return out;
}

/** Flips the lowest bit of byte `at` of a base64 value, keeping it canonical base64. */
function flipBase64(text: string, at: number): string {
  const bytes = Buffer.from(text, 'base64');
  bytes[at] = (bytes[at] as number) ^ 0x01;
  return bytes.toString('base64');
}

describe('auditlock prove / verify-proof', () => {
  it('proves an entry by leaf index (stdout), and verify-proof accepts it', async () => {
    // Prepare
    const file = join(dir, 'proof-1234.txt');
    // Act
    const proved = await runCli(['prove', store, '1234', '--pubkey', keys.publicKey]);
    await writeFile(file, proved.stdout);
    const { result, proof } = await verifyProof(file, '--origin', SAMPLE_ORIGIN);
    // Assess
    expect(proved.code, proved.stderr).toBe(0);
    expect(proved.stdout.split('\n')[0]).toBe('c2sp.org/tlog-proof@v1');
    expect(result.code, result.stderr).toBe(0);
    expect(proof).toMatchObject({
      valid: true,
      origin: SAMPLE_ORIGIN,
      index: 1234,
      treeSize: 1500, // the proof is against the checkpoint of segment 2 (entries 1000..1499)
      segment: '2',
      entry: {
        kind: 'event',
        event: { id: eventIds[1234] },
        delivery: { id: expect.stringMatching(/^events\.jsonl:1235(:|$)/) },
      },
    });
  });

  it('proves an entry by event id (--out), and verify-proof accepts it', async () => {
    // Prepare
    const file = join(dir, 'proof-by-id.txt');
    const id = eventIds[4321] as string;
    // Act
    const proved = await runCli(['prove', store, id, '--out', file, '--pubkey', keys.publicKey]);
    const { result, proof } = await verifyProof(file);
    const human = await runCli(['verify-proof', file, '--pubkey', keys.publicKey]);
    // Assess
    expect(proved.code, proved.stderr).toBe(0);
    expect(proved.stdout).toBe('');
    expect(result.code, result.stderr).toBe(0);
    expect(proof).toMatchObject({
      valid: true,
      index: 4321,
      treeSize: 4500,
      entry: { event: { id } },
    });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(id);
  });

  it('proves the first and the last entry of the log', async () => {
    for (const index of [0, 4999]) {
      const file = join(dir, `proof-edge-${index}.txt`);
      expect(
        (await runCli(['prove', store, String(index), '--out', file, '--pubkey', keys.publicKey]))
          .code,
      ).toBe(0);
      const { result, proof } = await verifyProof(file);
      expect(result.code, result.stderr).toBe(0);
      expect(proof).toMatchObject({ valid: true, index });
    }
  });

  it('an index or id not in the log: exit 2, ENTRY_NOT_FOUND', async () => {
    const byIndex = await runCli(['prove', store, '5000', '--pubkey', keys.publicKey]);
    const byId = await runCli(['prove', store, 'no-such-event', '--pubkey', keys.publicKey]);
    const numericId = await runCli(['prove', store, '42', '--id', '--pubkey', keys.publicKey]);
    for (const r of [byIndex, byId, numericId]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('ENTRY_NOT_FOUND');
    }
  });

  it('without a trusted key: exit 2, USAGE (a proof is only built against a verified checkpoint)', async () => {
    const result = await runCli(['prove', store, '7']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('USAGE');
  });

  it('refuses a segment re-signed by another key: exit 2, SEGMENT_UNTRUSTED, nothing written', async () => {
    // Prepare: a copy of the store whose segment 1 (entries 500..999) is signed by another key.
    const copy = join(dir, 'store-forged');
    await cp(store, copy, { recursive: true });
    const mallory = makeKey('mallory');
    const path = segmentPath(copy, 1);
    const forged = await forge(new Uint8Array(await readFile(path)), { signers: [mallory.signer] });
    await rm(path, { force: true });
    await writeFile(path, forged);
    const out = join(dir, 'forged-proof.txt');
    // Act
    const result = await runCli(['prove', copy, '600', '--pubkey', keys.publicKey, '--out', out]);
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SEGMENT_UNTRUSTED');
    await expect(readFile(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  describe('a proof changed in one place fails (exit 1)', () => {
    let file: string;
    beforeAll(async () => {
      file = join(dir, 'proof-77.txt');
      expect(
        (await runCli(['prove', store, '77', '--out', file, '--pubkey', keys.publicKey])).code,
      ).toBe(0);
    });

    it('one bit of one proof hash: PROOF_INVALID', async () => {
      const changed = await editedProof(file, 'proof-77-hash.txt', (lines) => {
        // Lines: header, extra, index, then the hashes.
        expect(lines[3]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
        lines[3] = flipBase64(lines[3] as string, 7);
      });
      const { result, proof } = await verifyProof(changed);
      expect(result.code).toBe(1);
      expect(proof).toMatchObject({ valid: false, code: 'PROOF_INVALID' });
    });

    it('one bit of one entry byte: PROOF_INVALID', async () => {
      const changed = await editedProof(file, 'proof-77-entry.txt', (lines) => {
        expect(lines[1]).toMatch(/^extra /);
        lines[1] = `extra ${flipBase64((lines[1] as string).slice('extra '.length), 40)}`;
      });
      const { result, proof } = await verifyProof(changed);
      expect(result.code).toBe(1);
      expect(proof).toMatchObject({ valid: false, code: 'PROOF_INVALID' });
    });

    it('another leaf index: PROOF_INVALID', async () => {
      const changed = await editedProof(file, 'proof-77-index.txt', (lines) => {
        lines[2] = 'index 76';
      });
      const { result, proof } = await verifyProof(changed);
      expect(result.code).toBe(1);
      expect(proof).toMatchObject({ valid: false, code: 'PROOF_INVALID' });
    });

    it('one bit of the checkpoint root: SIGNATURE_INVALID', async () => {
      const changed = await editedProof(file, 'proof-77-root.txt', (lines) => {
        const at = lines.indexOf(SAMPLE_ORIGIN) + 2; // origin, tree size, root
        lines[at] = flipBase64(lines[at] as string, 0);
      });
      const { result, proof } = await verifyProof(changed);
      expect(result.code).toBe(1);
      expect(proof).toMatchObject({ valid: false, code: 'SIGNATURE_INVALID' });
    });

    it('a key other than the signer: SIGNATURE_UNTRUSTED', async () => {
      const other = await keygen(dir, 'other-keys', SAMPLE_ORIGIN);
      const result = await runCli(['verify-proof', file, '--pubkey', other.publicKey, '--json']);
      expect(result.code).toBe(1);
      expect(parseJsonOutput<ProofResult>(result)).toMatchObject({
        valid: false,
        code: 'SIGNATURE_UNTRUSTED',
      });
    });

    it('--origin other than the checkpoint: ORIGIN_MISMATCH', async () => {
      const { result, proof } = await verifyProof(file, '--origin', 'someone.else/default');
      expect(result.code).toBe(1);
      expect(proof).toMatchObject({ valid: false, code: 'ORIGIN_MISMATCH' });
    });

    it('not a proof at all: PROOF_MALFORMED; without --json the code goes to stderr', async () => {
      const changed = join(dir, 'not-a-proof.txt');
      await writeFile(changed, 'hello\n\nworld\n');
      const { result, proof } = await verifyProof(changed);
      expect(result.code).toBe(1);
      expect(proof).toMatchObject({ valid: false, code: 'PROOF_MALFORMED' });
      const human = await runCli(['verify-proof', changed, '--pubkey', keys.publicKey]);
      expect(human.code).toBe(1);
      expect(human.stderr).toContain('PROOF_MALFORMED');
    });
  });
});
