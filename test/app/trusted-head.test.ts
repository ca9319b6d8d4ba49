/**
 * The writer extends only a head it has verified (issue 7, defect 1): a head forged by someone
 * with write access to the store, whether re-signed with their own key or carrying a copied
 * signature, is refused with a coded error before anything is written; a head signed by a key in
 * the writer's trusted set (rotation) is continued, and the change of key is reported.
 * Tampering replaces the real stored file of a folder store.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { verifyStore } from '../../src/app/verify.js';
import { AuditlockError, hasCode } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/findings.js';
import { ecdsaKeyId } from '../../src/core/key-id.js';
import { segmentKey } from '../../src/core/layout.js';
import { parseSegment } from '../../src/core/segment.js';
import { editEntry, forge, replaceStoredFile } from '../helpers/forge.js';
import {
  logFixture,
  makeKey,
  sampleEvent,
  type TestKey,
  writeLog,
} from '../helpers/log-fixture.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A folder store holding 30 events in segments 0..2, written with `key`. */
async function folderLog(key: TestKey = makeKey('writer')) {
  const root = await mkdtemp(join(tmpdir(), 'al-trusted-head-'));
  dirs.push(root);
  const store = new FolderStore(root);
  const fx = logFixture(store, key);
  await writeLog(fx, 30, 10);
  return { root, store, fx, key };
}

/** The head's entries with the last one's actor changed: a forged event. */
const forgeLastEvent = (entries: Uint8Array[]) =>
  entries.map((e, i) =>
    i === entries.length - 1
      ? editEntry(e, (x) => ({
          ...x,
          event: { ...(x.event as object), actor: { id: 'mallory', type: 'user' } },
        }))
      : e,
  );

async function segmentFiles(root: string): Promise<string[]> {
  return (await readdir(join(root, 'main', 'seg'))).sort();
}

async function rejection(p: Promise<unknown>): Promise<AuditlockError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AuditlockError)) throw new Error(`expected a coded rejection, got ${err}`);
  return err;
}

describe('the writer only extends a verified head', () => {
  it('refuses a structurally consistent forged head re-signed with a new key; nothing is written', async () => {
    // Prepare
    const { root, store, fx } = await folderLog();
    const mallory = makeKey('mallory');
    const key = segmentKey('main', 2);
    const forged = await forge((await store.get(key)) as Uint8Array, {
      entries: forgeLastEvent,
      signers: [mallory.signer],
    });
    await replaceStoredFile(root, key, forged);
    const before = await segmentFiles(root);
    // Act
    const err = await rejection(
      fx.open({ maxEvents: 1 }).then(async (a) => {
        await a.append(sampleEvent(99));
        await a.close();
      }),
    );
    // Assess
    expect(err.code).toBe('SEGMENT_UNTRUSTED');
    // The message names the head's key and the trusted one.
    expect(err.message).toContain(hex(ecdsaKeyId(mallory.spki)));
    expect(err.message).toContain(hex(ecdsaKeyId(fx.key.spki)));
    expect(await segmentFiles(root)).toEqual(before);
    expect(await store.get(key)).toEqual(forged);
  });

  it('refuses a forged head carrying the real signature line copied from the original (no key needed)', async () => {
    // Prepare
    const { root, store, fx } = await folderLog();
    const key = segmentKey('main', 2);
    const original = (await store.get(key)) as Uint8Array;
    const forged = await forge(original, {
      entries: forgeLastEvent,
      signers: [],
      copiedSignatures: parseSegment(original).signatures,
    });
    await replaceStoredFile(root, key, forged);
    const before = await segmentFiles(root);
    // Act
    const err = await rejection(fx.open());
    // Assess
    expect(err.code).toBe('SEGMENT_UNTRUSTED');
    expect(await segmentFiles(root)).toEqual(before);
  });

  it('refuses to append after a head another key signed, unless that key is trusted (issue 8: a word, not silence)', async () => {
    // Prepare: a genuine log, then a writer with a different key and no trusted keys given.
    const { fx } = await folderLog();
    const other = makeKey('other');
    const otherFx = logFixture(fx.store, other);
    // Act
    const err = await rejection(otherFx.open());
    // Assess
    expect(err.code).toBe('SEGMENT_UNTRUSTED');
    expect(err.message).toContain(hex(ecdsaKeyId(fx.key.spki)));
    expect(err.message).toContain(hex(ecdsaKeyId(other.spki)));
  });

  it('continues a head signed by a trusted previous key (rotation), says so, and keeps trusting its own segments', async () => {
    // Prepare
    const { root, store, fx } = await folderLog();
    const next = makeKey('next');
    const nextFx = logFixture(store, next);
    // Act
    const rotated = await nextFx.open({ maxEvents: 1, trustedKeys: [fx.key.trusted] });
    await rotated.append(sampleEvent(30));
    await rotated.close();
    // The next writer with the new key trusts its own segment without being told.
    const again = await nextFx.open({ maxEvents: 1, trustedKeys: [fx.key.trusted] });
    await again.append(sampleEvent(31));
    await again.close();
    // Assess
    expect(rotated.keyChange).toMatchObject({ seq: 2 });
    expect(rotated.keyChange?.headSignedBy.map((k) => hex(ecdsaKeyId(k.spki)))).toEqual([
      hex(ecdsaKeyId(fx.key.spki)),
    ]);
    expect(again.keyChange).toBeUndefined();
    expect(await segmentFiles(root)).toHaveLength(5);
    const findings: Finding[] = [];
    const r = await verifyStore(store, {
      trustedKeys: [fx.key.trusted, next.trusted],
      onFinding: (f) => findings.push(f),
    });
    expect(findings).toEqual([]);
    expect(r.logs[0]?.treeSize).toBe(32);
  });

  it('after a lost race, refuses a forged segment planted at the next sequence number instead of chaining onto it', async () => {
    // Prepare: a writer holds the head (segment 2); then someone plants segment 3.
    const { root, store, fx } = await folderLog();
    const writer = await fx.open({ maxEvents: 1 });
    const mallory = makeKey('mallory');
    const head = parseSegment((await store.get(segmentKey('main', 2))) as Uint8Array);
    const plantedBytes = await forge((await store.get(segmentKey('main', 2))) as Uint8Array, {
      checkpoint: (cp) => ({ ...cp, seq: 3, prev: head.hash }),
      signers: [mallory.signer],
    });
    await store.putIfAbsent(segmentKey('main', 3), plantedBytes);
    // Act
    const err = await rejection(writer.append(sampleEvent(40)));
    // Assess
    expect(hasCode(err, 'SEGMENT_UNTRUSTED')).toBe(true);
    expect(await segmentFiles(root)).toHaveLength(4);
    expect(await store.exists(segmentKey('main', 4))).toBe(false);
  });
});
