/**
 * makeReceipt / verifyReceipt on memory stores: receipts by index and by id, against the segment's
 * own checkpoint, an exactly cosigned one, or a later witnessed one (inclusion proof in the larger
 * tree); hostile cosigned objects and segments never get into a receipt; any single changed
 * character of a witnessed receipt is rejected.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalEd25519Signer } from '../../src/adapters/ed25519-key.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { proveEntry } from '../../src/app/prove.js';
import { makeReceipt, verifyReceipt } from '../../src/app/receipt.js';
import { readTrustedSegment } from '../../src/app/trusted-segment.js';
import { type CosignerKey, cosign, cosignerKey } from '../../src/core/cosignature.js';
import { utf8 } from '../../src/core/encoding.js';
import { segmentKey } from '../../src/core/layout.js';
import { formatNote } from '../../src/core/note.js';
import { cosignedCheckpointKey } from '../../src/core/witness-check.js';
import { forge } from '../helpers/forge.js';
import { logFixture, makeKey, type TestKey, writeLog } from '../helpers/log-fixture.js';

const LOG = 'main';
const ORIGIN = 'audit.example.com/test/main';

async function witnessKey(name: string): Promise<{ key: CosignerKey; signer: LocalEd25519Signer }> {
  const signer = LocalEd25519Signer.generate();
  return { key: cosignerKey(name, await signer.publicKey()), signer };
}

/** 100 events in segments of 10 (tree sizes 10, 20, ... 100). */
async function testLog(encoding: 'identity' | 'gzip' = 'identity') {
  const store = new MemoryStore();
  const key = makeKey('log');
  await writeLog(logFixture(store, key), 100, 10, 0, { encoding });
  return { store, key };
}

/** Stores a cosigned checkpoint of segment `seq` as `witness cosign` does (FORMAT.md §9.2). */
async function storeCosigned(
  store: MemoryStore,
  key: TestKey,
  seq: number,
  w: { key: CosignerKey; signer: LocalEd25519Signer },
  timestamp = 1_800_000_000,
): Promise<string> {
  const t = await readTrustedSegment(store, LOG, seq, [key.trusted]);
  const sig = await cosign(t.seg.noteText, w.key, w.signer, timestamp);
  const objectKey = cosignedCheckpointKey(LOG, t.seg.checkpoint.treeSize, w.key.keyId);
  await store.putIfAbsent(objectKey, utf8(formatNote(t.seg.noteText, [...t.seg.signatures, sig])));
  return objectKey;
}

describe('makeReceipt', () => {
  it('by index, without witnesses: the segment own checkpoint; verifies', async () => {
    const { store, key } = await testLog();
    const r = await makeReceipt(store, LOG, { index: 37 }, { trustedKeys: [key.trusted] });
    expect(r).toMatchObject({ index: 37, seq: 3, treeSize: 40, checkpointSeq: 3, witnesses: [] });
    const v = verifyReceipt(r.text, { trustedKeys: [key.trusted], origin: ORIGIN });
    expect(v).toMatchObject({ index: 37, treeSize: 40, checkpointSeq: 3, unchecked: 0 });
    expect(v.entry).toMatchObject({ kind: 'event', event: { id: 'evt-37' } });
  });

  it('by id: the same receipt as by index; unknown id ENTRY_NOT_FOUND', async () => {
    const { store, key } = await testLog();
    const byId = await makeReceipt(store, LOG, { id: 'evt-64' }, { trustedKeys: [key.trusted] });
    const byIndex = await makeReceipt(store, LOG, { index: 64 }, { trustedKeys: [key.trusted] });
    expect(byId.text).toBe(byIndex.text);
    expect(byId.scanned).toBe(10);
    // Only the segment holding the id is checked.
    expect(byId.trustedReads).toBe(1);
    await expect(
      makeReceipt(store, LOG, { id: 'evt-100' }, { trustedKeys: [key.trusted] }),
    ).rejects.toMatchObject({ code: 'ENTRY_NOT_FOUND' });
  });

  it('by id in a gzip log (the id is found inside the compressed body)', async () => {
    const { store, key } = await testLog('gzip');
    const r = await makeReceipt(store, LOG, { id: 'evt-5' }, { trustedKeys: [key.trusted] });
    expect(r.index).toBe(5);
    expect(verifyReceipt(r.text, { trustedKeys: [key.trusted] }).entry).toMatchObject({
      event: { id: 'evt-5' },
    });
  });

  it('an id stored twice: ENTRY_AMBIGUOUS with both indexes', async () => {
    const store = new MemoryStore();
    const key = makeKey('log');
    const fx = logFixture(store, key);
    await writeLog(fx, 20, 10, 0);
    await writeLog(fx, 5, 10, 3); // evt-3 .. evt-7 again, at 20 .. 24
    await expect(
      makeReceipt(store, LOG, { id: 'evt-4' }, { trustedKeys: [key.trusted] }),
    ).rejects.toMatchObject({ code: 'ENTRY_AMBIGUOUS', matches: [4, 21] });
  });

  it('by id: a re-signed segment that may hold the id fails SEGMENT_UNTRUSTED; others are not read', async () => {
    const { store, key } = await testLog();
    const path = segmentKey(LOG, 6);
    const bytes = (await store.get(path)) as Uint8Array;
    store.tamperReplace(path, await forge(bytes, { signers: [makeKey('mallory').signer] }));
    await expect(
      makeReceipt(store, LOG, { id: 'evt-61' }, { trustedKeys: [key.trusted] }),
    ).rejects.toMatchObject({ code: 'SEGMENT_UNTRUSTED' });
    // Segment 6 does not hold evt-7: the forged segment is never trusted, nor needed.
    const r = await makeReceipt(store, LOG, { id: 'evt-7' }, { trustedKeys: [key.trusted] });
    expect(r.index).toBe(7);
  });

  it('in a store holding segments 3..6 only (a bundle from mid-log): by index, by id, and with a witness', async () => {
    // Prepare: copy four segments of the log, and a cosignature of segment 5, into a new store
    const { store, key } = await testLog();
    const w = await witnessKey('w.example');
    const cosigned = await storeCosigned(store, key, 5, w);
    const bundle = new MemoryStore();
    for (let seq = 3; seq <= 6; seq++)
      await bundle.putIfAbsent(
        segmentKey(LOG, seq),
        (await store.get(segmentKey(LOG, seq))) as Uint8Array,
      );
    await bundle.putIfAbsent(cosigned, (await store.get(cosigned)) as Uint8Array);
    const opts = { trustedKeys: [key.trusted] };

    // Act
    const byIndex = await makeReceipt(bundle, LOG, { index: 45 }, opts);
    const byId = await makeReceipt(bundle, LOG, { id: 'evt-61' }, opts);
    const witnessed = await makeReceipt(
      bundle,
      LOG,
      { index: 31 },
      { ...opts, witnessKeys: [w.key] },
    );
    const proven = await proveEntry(bundle, LOG, { id: 'evt-33' }, opts);

    // Assess
    expect(byIndex).toMatchObject({ index: 45, seq: 4, treeSize: 50 });
    expect(byId).toMatchObject({ index: 61, seq: 6, scanned: 4 });
    expect(witnessed).toMatchObject({ index: 31, seq: 3, checkpointSeq: 5, treeSize: 60 });
    expect(verifyReceipt(witnessed.text, { ...opts, witnessKeys: [w.key] }).witnesses).toHaveLength(
      1,
    );
    expect(verifyReceipt(byId.text, opts).entry).toMatchObject({ event: { id: 'evt-61' } });
    expect(proven).toMatchObject({ index: 33, seq: 3 });
    await expect(makeReceipt(bundle, LOG, { index: 12 }, opts)).rejects.toMatchObject({
      code: 'ENTRY_NOT_FOUND',
      message: expect.stringContaining('start at segment 3, leaf 30'),
    });
    await expect(makeReceipt(bundle, LOG, { id: 'evt-12' }, opts)).rejects.toMatchObject({
      code: 'ENTRY_NOT_FOUND',
    });
    await expect(makeReceipt(new MemoryStore(), LOG, { index: 0 }, opts)).rejects.toMatchObject({
      code: 'LOG_EMPTY',
    });
  });

  it('a checkpoint cosigned at exactly the segment size: that checkpoint with the cosignature', async () => {
    const { store, key } = await testLog();
    const w = await witnessKey('witness.example.com/w1');
    await storeCosigned(store, key, 2, w);
    await storeCosigned(store, key, 9, w);
    const r = await makeReceipt(
      store,
      LOG,
      { index: 25 },
      { trustedKeys: [key.trusted], witnessKeys: [w.key] },
    );
    expect(r).toMatchObject({ treeSize: 30, checkpointSeq: 2, witnesses: [{ name: w.key.name }] });
    const v = verifyReceipt(r.text, { trustedKeys: [key.trusted], witnessKeys: [w.key] });
    expect(v.witnesses).toEqual([
      { name: w.key.name, keyId: expect.any(String), timestamp: 1_800_000_000 },
    ]);
    // Without the witness key the cosignature is a line from a key not given: ignored, counted.
    expect(verifyReceipt(r.text, { trustedKeys: [key.trusted] }).unchecked).toBe(1);
  });

  it('only a later checkpoint is cosigned: the proof is in that larger tree', async () => {
    const { store, key } = await testLog();
    const w = await witnessKey('witness.example.com/w1');
    await storeCosigned(store, key, 7, w);
    const r = await makeReceipt(
      store,
      LOG,
      { id: 'evt-12' },
      { trustedKeys: [key.trusted], witnessKeys: [w.key] },
    );
    expect(r).toMatchObject({ index: 12, seq: 1, treeSize: 80, checkpointSeq: 7 });
    const v = verifyReceipt(r.text, {
      trustedKeys: [key.trusted],
      witnessKeys: [w.key],
      quorum: 1,
    });
    expect(v).toMatchObject({ index: 12, treeSize: 80, checkpointSeq: 7 });
    // An entry after the newest witnessed checkpoint: its own checkpoint, without cosignatures.
    const late = await makeReceipt(
      store,
      LOG,
      { index: 95 },
      { trustedKeys: [key.trusted], witnessKeys: [w.key] },
    );
    expect(late).toMatchObject({ treeSize: 100, witnesses: [] });
    expect(() =>
      verifyReceipt(late.text, { trustedKeys: [key.trusted], witnessKeys: [w.key] }),
    ).toThrow(expect.objectContaining({ code: 'WITNESS_QUORUM_NOT_MET' }));
  });

  it('a quorum of 2 skips a checkpoint only one witness cosigned', async () => {
    const { store, key } = await testLog();
    const w1 = await witnessKey('witness.example.com/w1');
    const w2 = await witnessKey('witness.example.com/w2');
    await storeCosigned(store, key, 3, w1);
    await storeCosigned(store, key, 5, w1);
    await storeCosigned(store, key, 5, w2);
    const r = await makeReceipt(
      store,
      LOG,
      { index: 31 },
      { trustedKeys: [key.trusted], witnessKeys: [w1.key, w2.key], quorum: 2 },
    );
    expect(r).toMatchObject({ treeSize: 60, checkpointSeq: 5 });
    expect(r.notUsed.join('\n')).toContain('tree size 40');
    const v = verifyReceipt(r.text, {
      trustedKeys: [key.trusted],
      witnessKeys: [w1.key, w2.key],
      quorum: 2,
    });
    expect(v.witnesses.map((x) => x.name).sort()).toEqual([w1.key.name, w2.key.name]);
  });

  it('a stored cosignature that does not verify over the trusted checkpoint is never used', async () => {
    const { store, key } = await testLog();
    const w = await witnessKey('witness.example.com/w1');
    const objectKey = await storeCosigned(store, key, 4, w);
    const text = new TextDecoder().decode((await store.get(objectKey)) as Uint8Array);
    // The cosignature line is the last; change one base64 character of its signature.
    const lines = text.split('\n');
    const at = lines.length - 2;
    const line = lines[at] as string;
    lines[at] = `${line.slice(0, -6)}${line.at(-6) === 'A' ? 'B' : 'A'}${line.slice(-5)}`;
    store.tamperReplace(objectKey, utf8(lines.join('\n')));
    const r = await makeReceipt(
      store,
      LOG,
      { index: 41 },
      { trustedKeys: [key.trusted], witnessKeys: [w.key] },
    );
    expect(r).toMatchObject({ treeSize: 50, witnesses: [] });
    expect(r.notUsed.join('\n')).toMatch(/does not verify|not a signed note/);
  });

  it('any one changed character of a witnessed receipt is rejected', async () => {
    const { store, key } = await testLog();
    const w = await witnessKey('witness.example.com/w1');
    await storeCosigned(store, key, 5, w);
    const r = await makeReceipt(
      store,
      LOG,
      { index: 33 },
      { trustedKeys: [key.trusted], witnessKeys: [w.key] },
    );
    const options = { trustedKeys: [key.trusted], witnessKeys: [w.key], quorum: 1 };
    expect(() => verifyReceipt(r.text, options)).not.toThrow();
    fc.assert(
      fc.property(
        fc.nat({ max: r.text.length - 1 }),
        fc.constantFrom('A', 'b', '0', '+', '\n', ' ', 'x'),
        (at, c) => {
          fc.pre(r.text[at] !== c);
          const changed = r.text.slice(0, at) + c + r.text.slice(at + 1);
          expect(() => verifyReceipt(changed, options)).toThrow();
        },
      ),
      { numRuns: 300 },
    );
  });
});
