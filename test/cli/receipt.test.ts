/**
 * `auditlock receipt` and `auditlock verify-receipt` through the real CLI: receipts by index and by
 * id, with a witness's cosignature (a later witnessed checkpoint, and one of exactly the entry
 * segment's size), verified offline; each field of a receipt changed is rejected with its code; an
 * entry over 64 KiB round-trips; receipts from before and after a key rotation verify with a
 * trusted-keys file of windows.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EVENTS_FILE,
  type KeyFiles,
  keygen,
  parseJsonOutput,
  readLines,
  runCli,
  SAMPLE_ORIGIN,
  sampleStore,
  useTempDirs,
} from '../helpers/cli.js';

const tempDir = useTempDirs('auditlock-receipt-');

type Verified =
  | {
      valid: true;
      origin: string;
      index: number;
      treeSize: number;
      checkpointSeq: number;
      witnesses: { name: string; keyId: string; timestamp: number }[];
      unchecked: number;
      entry: { kind: string; event: { id: string; detail?: { blob?: string } } };
    }
  | { valid: false; code: string; detail: string };

const WITNESS = 'witness.example.com/w1';

let dir: string;
let store: string;
let keys: KeyFiles;
let vkey: string;
let eventIds: string[];

beforeAll(async () => {
  dir = await tempDir();
  ({ store, keys } = await sampleStore(dir));
  eventIds = (await readLines(EVENTS_FILE)).map((l) => (JSON.parse(l) as { id: string }).id);
  const out = join(dir, 'witness');
  const made = await runCli(['witness', 'keygen', '--out', out, '--name', WITNESS]);
  expect(made.code, made.stderr).toBe(0);
  vkey = join(out, 'witness-key.vkey');
  // The witness cosigns the head: tree size 5000, segment 9.
  const cosigned = await runCli([
    'witness',
    'cosign',
    store,
    '--state',
    join(dir, 'state'),
    '--key',
    join(out, 'witness-key.pem'),
    '--pubkey',
    keys.publicKey,
  ]);
  expect(cosigned.code, cosigned.stderr).toBe(0);
});

async function receipt(what: string, name: string, ...extra: string[]): Promise<string> {
  const file = join(dir, name);
  const r = await runCli([
    'receipt',
    store,
    what,
    '--pubkey',
    keys.publicKey,
    '--out',
    file,
    ...extra,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return file;
}

async function verifyReceipt(file: string, ...extra: string[]) {
  const result = await runCli([
    'verify-receipt',
    file,
    '--pubkey',
    keys.publicKey,
    '--json',
    ...extra,
  ]);
  return { result, out: parseJsonOutput<Verified>(result) };
}

/** A copy of the receipt at `file` with its lines changed by `edit`. */
async function edited(file: string, name: string, edit: (lines: string[]) => void) {
  const lines = (await readFile(file, 'utf8')).split('\n');
  edit(lines);
  const out = join(dir, name);
  await writeFile(out, lines.join('\n'));
  return out;
}

/** Flips the lowest bit of byte `at` (negative: from the end) of a base64 value, canonically. */
function flipBase64(text: string, at: number): string {
  const bytes = Buffer.from(text, 'base64');
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = (bytes[i] as number) ^ 0x01;
  return bytes.toString('base64');
}

describe('auditlock receipt / verify-receipt', () => {
  it('by index with a witness key: proved at the later witnessed checkpoint, with its cosignature', async () => {
    const file = await receipt('1234', 'r-1234.tlog-proof', '--witness-key', vkey);
    const { result, out } = await verifyReceipt(file, '--witness-key', vkey, '--witnesses', '1');
    expect(result.code, result.stderr).toBe(0);
    expect(out).toMatchObject({
      valid: true,
      origin: SAMPLE_ORIGIN,
      index: 1234,
      treeSize: 5000,
      checkpointSeq: 9,
      witnesses: [{ name: WITNESS }],
      unchecked: 0,
      entry: { kind: 'event', event: { id: eventIds[1234] } },
    });
    // It is a plain tlog-proof: the first line, and the event printed by the human form.
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')[0]).toBe('c2sp.org/tlog-proof@v1');
    const human = await runCli(['verify-receipt', file, '--pubkey', keys.publicKey]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^VALID: entry 1234 /);
    expect(human.stdout).toContain(eventIds[1234]);
    expect(human.stdout).toContain('1 signature line(s) from keys not given');
  });

  it('by id, in the witnessed segment itself: that checkpoint and its cosignature', async () => {
    const id = eventIds[4800] as string;
    const file = await receipt(id, 'r-4800.tlog-proof', '--witness-key', vkey);
    const { result, out } = await verifyReceipt(file, '--witness-key', vkey);
    expect(result.code, result.stderr).toBe(0);
    expect(out).toMatchObject({
      index: 4800,
      treeSize: 5000,
      checkpointSeq: 9,
      entry: { event: { id } },
    });
  });

  it('without a witness key: the segment own checkpoint, no cosignature; a quorum then fails', async () => {
    const file = await receipt('77', 'r-77-plain.tlog-proof');
    const plain = await verifyReceipt(file);
    expect(plain.result.code, plain.result.stderr).toBe(0);
    expect(plain.out).toMatchObject({ index: 77, treeSize: 500, witnesses: [] });
    const witnessed = await verifyReceipt(file, '--witness-key', vkey);
    expect(witnessed.result.code).toBe(1);
    expect(witnessed.out).toMatchObject({ valid: false, code: 'WITNESS_QUORUM_NOT_MET' });
  });

  it('an id not in the log: exit 2, ENTRY_NOT_FOUND; --witnesses beyond the keys given: USAGE', async () => {
    const missing = await runCli(['receipt', store, 'no-such-event', '--pubkey', keys.publicKey]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ENTRY_NOT_FOUND');
    const usage = await runCli([
      'verify-receipt',
      join(dir, 'x'),
      '--pubkey',
      keys.publicKey,
      '--witnesses',
      '2',
      '--witness-key',
      vkey,
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('USAGE');
  });

  describe('each changed field is rejected (exit 1)', () => {
    let file: string;
    let lines: string[];
    beforeAll(async () => {
      file = await receipt('1234', 'r-tamper.tlog-proof', '--witness-key', vkey);
      lines = (await readFile(file, 'utf8')).split('\n');
    });
    const strict = () => ['--witness-key', vkey, '--witnesses', '1'];

    it('the entry bytes: PROOF_INVALID', async () => {
      const changed = await edited(file, 't-extra', (l) => {
        l[1] = `extra ${flipBase64((l[1] as string).slice('extra '.length), 30)}`;
      });
      const { result, out } = await verifyReceipt(changed, ...strict());
      expect(result.code).toBe(1);
      expect(out).toMatchObject({ valid: false, code: 'PROOF_INVALID' });
    });

    it('the index: PROOF_INVALID', async () => {
      const changed = await edited(file, 't-index', (l) => {
        l[2] = 'index 1235';
      });
      const { result, out } = await verifyReceipt(changed, ...strict());
      expect(result.code).toBe(1);
      expect(out).toMatchObject({ valid: false, code: 'PROOF_INVALID' });
    });

    it('each proof hash: PROOF_INVALID', async () => {
      const blank = lines.indexOf('');
      expect(blank - 3).toBe(13); // leaf 1234 of a tree of 5000: 13 hashes
      for (let at = 3; at < blank; at++) {
        const changed = await edited(file, `t-hash-${at}`, (l) => {
          l[at] = flipBase64(l[at] as string, 5);
        });
        const { result, out } = await verifyReceipt(changed, ...strict());
        expect(result.code, `hash line ${at}`).toBe(1);
        expect(out).toMatchObject({ valid: false, code: 'PROOF_INVALID' });
      }
    });

    it('the checkpoint text (root, size, seal time): SIGNATURE_INVALID', async () => {
      const origin = lines.indexOf(SAMPLE_ORIGIN);
      const edits: [string, (l: string[]) => void][] = [
        [
          'root',
          (l) => {
            l[origin + 2] = flipBase64(l[origin + 2] as string, 0);
          },
        ],
        [
          'size',
          (l) => {
            l[origin + 1] = '4999';
          },
        ],
        [
          'sealed',
          (l) => {
            const at = l.findIndex((x) => x.startsWith('auditlock.sealed '));
            l[at] = (l[at] as string).replace(/\.(\d)/, (_, d) => `.${(Number(d) + 1) % 10}`);
          },
        ],
      ];
      for (const [name, edit] of edits) {
        const changed = await edited(file, `t-cp-${name}`, edit);
        const { result, out } = await verifyReceipt(changed, ...strict());
        expect(result.code, name).toBe(1);
        expect(out, name).toMatchObject({ valid: false, code: 'SIGNATURE_INVALID' });
      }
    });

    it("the log's signature: SIGNATURE_INVALID", async () => {
      const changed = await edited(file, 't-logsig', (l) => {
        const at = l.findIndex((x) => x.startsWith(`\u2014 ${SAMPLE_ORIGIN} `));
        const [dash, name, blob] = (l[at] as string).split(' ');
        l[at] = `${dash} ${name} ${flipBase64(blob as string, -2)}`;
      });
      const { result, out } = await verifyReceipt(changed, ...strict());
      expect(result.code).toBe(1);
      expect(out).toMatchObject({ valid: false, code: 'SIGNATURE_INVALID' });
    });

    it('a cosignature line: WITNESS_COSIGNATURE_INVALID (ignored without the witness key)', async () => {
      const changed = await edited(file, 't-cosig', (l) => {
        const at = l.findIndex((x) => x.startsWith(`\u2014 ${WITNESS} `));
        const [dash, name, blob] = (l[at] as string).split(' ');
        l[at] = `${dash} ${name} ${flipBase64(blob as string, -1)}`;
      });
      const { result, out } = await verifyReceipt(changed, '--witness-key', vkey);
      expect(result.code).toBe(1);
      expect(out).toMatchObject({ valid: false, code: 'WITNESS_COSIGNATURE_INVALID' });
      const blind = await verifyReceipt(changed);
      expect(blind.result.code).toBe(0);
      expect(blind.out).toMatchObject({ valid: true, unchecked: 1 });
    });

    it('the cosignature dropped, --witnesses 1: WITNESS_QUORUM_NOT_MET', async () => {
      const changed = await edited(file, 't-dropped', (l) => {
        const at = l.findIndex((x) => x.startsWith(`\u2014 ${WITNESS} `));
        l.splice(at, 1);
      });
      const { result, out } = await verifyReceipt(changed, ...strict());
      expect(result.code).toBe(1);
      expect(out).toMatchObject({ valid: false, code: 'WITNESS_QUORUM_NOT_MET' });
      // The rest of the receipt is intact: without a quorum it is a valid receipt.
      expect((await verifyReceipt(changed)).result.code).toBe(0);
    });
  });

  it('an entry over 64 KiB: the extra line is longer than 64 KiB and the receipt round-trips', async () => {
    const big = join(dir, 'big');
    const [line] = await readLines(EVENTS_FILE);
    const event = JSON.parse(line as string) as Record<string, unknown>;
    const blob = 'b'.repeat(60_000);
    const resources = Array.from({ length: 20 }, (_, i) => ({
      type: 'aws:s3:object',
      id: `arn:aws:s3:::bucket/${String(i).padStart(2, '0')}/${'k'.repeat(2000)}`,
    }));
    const input = `${JSON.stringify({ ...event, id: 'big-event', resources, detail: { blob } })}\n`;
    const made = await runCli(
      ['ingest', big, '-', '--key', keys.privateKey, '--origin', SAMPLE_ORIGIN],
      { input },
    );
    expect(made.code, made.stderr).toBe(0);
    const file = join(dir, 'r-big.tlog-proof');
    const r = await runCli([
      'receipt',
      big,
      'big-event',
      '--pubkey',
      keys.publicKey,
      '--out',
      file,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const extra = (await readFile(file, 'utf8')).split('\n')[1] as string;
    expect(extra.length).toBeGreaterThan(64 * 1024);
    const { result, out } = await verifyReceipt(file);
    expect(result.code, result.stderr).toBe(0);
    expect(out).toMatchObject({
      valid: true,
      index: 0,
      entry: { event: { id: 'big-event', detail: { blob } } },
    });
  });

  it('a key rotation: receipts from before and after it verify with a trusted-keys file of windows', async () => {
    const rotated = join(dir, 'rotated');
    const all = await readLines(EVENTS_FILE);
    const before = await runCli(
      [
        'ingest',
        rotated,
        '-',
        '--key',
        keys.privateKey,
        '--origin',
        SAMPLE_ORIGIN,
        '--max-events',
        '500',
      ],
      { input: `${all.slice(0, 1000).join('\n')}\n` },
    );
    expect(before.code, before.stderr).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const rotation = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const next = await keygen(dir, 'next-keys', SAMPLE_ORIGIN);
    const after = await runCli(
      [
        'ingest',
        rotated,
        '-',
        '--key',
        next.privateKey,
        '--pubkey',
        keys.publicKey,
        '--max-events',
        '500',
      ],
      { input: `${all.slice(1000, 2000).join('\n')}\n` },
    );
    expect(after.code, after.stderr).toBe(0);
    const trust = join(dir, 'rotation.json');
    await writeFile(
      trust,
      JSON.stringify({
        keys: [
          { publicKey: keys.publicKey, notAfter: rotation },
          { publicKey: next.publicKey, notBefore: rotation },
        ],
      }),
    );
    for (const [index, size] of [
      [10, 500],
      [1500, 2000],
    ] as const) {
      const file = join(dir, `r-rotated-${index}`);
      const made = await runCli([
        'receipt',
        rotated,
        String(index),
        '--trusted-keys',
        trust,
        '--out',
        file,
      ]);
      expect(made.code, made.stderr).toBe(0);
      const v = await runCli(['verify-receipt', file, '--trusted-keys', trust, '--json']);
      expect(v.code, v.stderr).toBe(0);
      expect(parseJsonOutput<Verified>(v)).toMatchObject({ valid: true, index, treeSize: size });
    }
    // The new key is not trusted before the rotation: the old receipt under it alone is refused.
    const onlyNew = join(dir, 'only-new.json');
    await writeFile(
      onlyNew,
      JSON.stringify({ keys: [{ publicKey: next.publicKey, notBefore: rotation }] }),
    );
    const refused = await runCli([
      'verify-receipt',
      join(dir, 'r-rotated-10'),
      '--trusted-keys',
      onlyNew,
      '--json',
    ]);
    expect(refused.code).toBe(1);
    expect(parseJsonOutput<Verified>(refused)).toMatchObject({
      valid: false,
      code: 'SIGNATURE_UNTRUSTED',
    });
    // And the old key outside its window: the new receipt signed by the new key only is refused.
    const oldExpired = join(dir, 'old-expired.json');
    await writeFile(
      oldExpired,
      JSON.stringify({ keys: [{ publicKey: keys.publicKey, notAfter: rotation }] }),
    );
    const refusedNew = await runCli([
      'verify-receipt',
      join(dir, 'r-rotated-1500'),
      '--trusted-keys',
      oldExpired,
      '--json',
    ]);
    expect(refusedNew.code).toBe(1);
    expect(parseJsonOutput<Verified>(refusedNew)).toMatchObject({
      valid: false,
      code: 'SIGNATURE_UNTRUSTED',
    });
  });
});
