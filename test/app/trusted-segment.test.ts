/**
 * readTrustedSegment: one test per code of TRUSTED_SEGMENT_CODES, each on real stored bytes
 * (a folder store whose file is replaced), plus the accepting cases: the signature policy's
 * validity windows apply at the checkpoint's seal time.
 */
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { readTrustedSegment } from '../../src/app/trusted-segment.js';
import { fromBase64, toBase64 } from '../../src/core/encoding.js';
import { AuditlockError } from '../../src/core/errors.js';
import { segmentKey } from '../../src/core/layout.js';
import type { TrustedKey } from '../../src/core/note.js';
import { parseSegment } from '../../src/core/segment.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import { type Forgery, forge, replaceStoredFile } from '../helpers/forge.js';
import { logFixture, makeKey, type TestKey, writeLog } from '../helpers/log-fixture.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function setup(): Promise<{ root: string; store: FolderStore; key: TestKey }> {
  const root = await mkdtemp(join(tmpdir(), 'al-trusted-seg-'));
  dirs.push(root);
  const store = new FolderStore(root);
  const key = makeKey();
  await writeLog(logFixture(store, key), 30, 10);
  return { root, store, key };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) return undefined;
  if (!(err instanceof AuditlockError)) throw err;
  return err.code;
}

/** Replaces segment `seq` with a forgery re-signed by the trusted key unless told otherwise. */
async function replace(
  s: Awaited<ReturnType<typeof setup>>,
  seq: number,
  f: Omit<Forgery, 'signers'> & { signers?: Forgery['signers'] },
) {
  const key = segmentKey('main', seq);
  const bytes = await forge((await s.store.get(key)) as Uint8Array, {
    signers: [s.key.signer],
    ...f,
  });
  await replaceStoredFile(s.root, key, bytes);
}

describe('readTrustedSegment', () => {
  it('accepts a genuine segment and returns its entries, hash and frontier', async () => {
    const s = await setup();
    const t = await readTrustedSegment(s.store, 'main', 1, [s.key.trusted]);
    const raw = (await s.store.get(segmentKey('main', 1))) as Uint8Array;
    expect(t.entries).toHaveLength(10);
    expect(t.hash).toEqual(parseSegment(raw).hash);
    expect(t.frontier.size).toBe(20);
    expect(t.signedBy).toHaveLength(1);
  });

  it('SEGMENT_MISSING: no object at the key', async () => {
    const s = await setup();
    expect(await codeOf(readTrustedSegment(s.store, 'main', 3, [s.key.trusted]))).toBe(
      'SEGMENT_MISSING',
    );
  });

  it('SEGMENT_MALFORMED: stored bytes that are not a segment', async () => {
    const s = await setup();
    await replaceStoredFile(s.root, segmentKey('main', 1), new TextEncoder().encode('{"a":1}\n'));
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [s.key.trusted]))).toBe(
      'SEGMENT_MALFORMED',
    );
  });

  it('SEGMENT_UNTRUSTED: signed by an unknown key, or with no trusted key at all', async () => {
    const s = await setup();
    await replace(s, 1, { signers: [makeKey('mallory').signer] });
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [s.key.trusted]))).toBe(
      'SEGMENT_UNTRUSTED',
    );
    expect(await codeOf(readTrustedSegment(s.store, 'main', 0, []))).toBe('SEGMENT_UNTRUSTED');
  });

  it('SEGMENT_UNTRUSTED: a trusted key outside its validity window at the seal time', async () => {
    const s = await setup();
    const seg = parseSegment((await s.store.get(segmentKey('main', 1))) as Uint8Array);
    const sealed = parseTimestamp(seg.checkpoint.sealedAt);
    const retired: TrustedKey = { ...s.key.trusted, notAfter: sealed - 1 };
    const current: TrustedKey = { ...s.key.trusted, notBefore: sealed, notAfter: sealed };
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [retired]))).toBe(
      'SEGMENT_UNTRUSTED',
    );
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [current]))).toBeUndefined();
  });

  it('SEGMENT_UNTRUSTED: an extra signature line from an unknown key (one byte form)', async () => {
    const s = await setup();
    await replace(s, 1, { signers: [s.key.signer, makeKey('extra').signer] });
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [s.key.trusted]))).toBe(
      'SEGMENT_UNTRUSTED',
    );
  });

  it('SEGMENT_MISNUMBERED: a validly signed segment 0 stored as segment 1', async () => {
    const s = await setup();
    await replaceStoredFile(
      s.root,
      segmentKey('main', 1),
      (await s.store.get(segmentKey('main', 0))) as Uint8Array,
    );
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [s.key.trusted]))).toBe(
      'SEGMENT_MISNUMBERED',
    );
  });

  it('SEGMENT_PAYLOAD_MISMATCH: a signed checkpoint over another payload', async () => {
    const s = await setup();
    await replace(s, 1, {
      entries: (es) => es.slice(0, 9),
      recomputeTree: true,
      stalePayloadHash: true,
    });
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [s.key.trusted]))).toBe(
      'SEGMENT_PAYLOAD_MISMATCH',
    );
  });

  it('SEGMENT_ROOT_MISMATCH: entries or a frontier that do not give the signed root', async () => {
    const s = await setup();
    await replace(s, 1, {
      entries: (es) => [...es].reverse(), // same entries, another order
      recomputeTree: false,
    });
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [s.key.trusted]))).toBe(
      'SEGMENT_ROOT_MISMATCH',
    );
    const frontierByte = (b64: string) => {
      const h = fromBase64(b64).slice();
      h[0] = (h[0] as number) ^ 1;
      return toBase64(h);
    };
    await replace(s, 2, {
      header: (h) => ({ ...h, frontierBefore: h.frontierBefore.map(frontierByte) }),
    });
    expect(await codeOf(readTrustedSegment(s.store, 'main', 2, [s.key.trusted]))).toBe(
      'SEGMENT_ROOT_MISMATCH',
    );
  });

  it('SEGMENT_UNREADABLE: a symlink at the key (to a genuine segment) is never followed', async () => {
    const s = await setup();
    const path = join(s.root, 'main', 'seg', `${'1'.padStart(20, '0')}.seg`);
    const elsewhere = join(s.root, 'elsewhere.seg');
    await writeFile(elsewhere, (await s.store.get(segmentKey('main', 1))) as Uint8Array);
    await rm(path);
    await symlink(elsewhere, path);
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [s.key.trusted]))).toBe(
      'SEGMENT_UNREADABLE',
    );
  });

  it('a file too large for a segment is SEGMENT_MALFORMED, not an allocation', async () => {
    const s = await setup();
    const path = join(s.root, 'main', 'seg', `${'1'.padStart(20, '0')}.seg`);
    await rm(path);
    await writeFile(path, Buffer.alloc(64 * 1024 * 1024 + 1));
    expect(await codeOf(readTrustedSegment(s.store, 'main', 1, [s.key.trusted]))).toBe(
      'SEGMENT_MALFORMED',
    );
  });
});
