/**
 * Sealed fields and erasure by key destruction (issue 12, FORMAT.md §11) on a real folder store
 * and a real folder key store: sealing and reading round trip; after erasure no byte of either
 * store reveals the value or its salt, every proof and receipt still verifies, readers show the
 * field as erased; pseudonymous search; unknown subject; the key store unavailable.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERASURE_ACTION, eraseSubject } from '../../src/app/erase-subject.js';
import { searchEvents } from '../../src/app/events.js';
import { ingestJsonLines } from '../../src/app/ingest.js';
import { openSealedEntry } from '../../src/app/open-sealed.js';
import { proveEntry } from '../../src/app/prove.js';
import { makeReceipt, verifyReceipt } from '../../src/app/receipt.js';
import { sealingSubmit } from '../../src/app/seal-submit.js';
import { censusSealed } from '../../src/app/sealed-census.js';
import { SubjectKeys } from '../../src/app/subject-keys.js';
import { readTrustedSegment } from '../../src/app/trusted-segment.js';
import { verifyStore } from '../../src/app/verify.js';
import { formatDisclosure, verifyDisclosure } from '../../src/core/disclosure.js';
import { toBase64 } from '../../src/core/encoding.js';
import type { SealedEventEntry } from '../../src/core/entry.js';
import type { EventHit } from '../../src/core/event-filter.js';
import { parseSealConfig } from '../../src/core/sealed-config.js';
import {
  ACTOR_SEAL_CONFIG,
  ingestSealed,
  type SealedFixture,
  sealedFixture,
} from '../helpers/sealed.js';

const ORIGIN = 'audit.example.com/test/main';

const ALICE = 'alice.liddell@example.com';
const BOB = 'bob.builder@example.com';
const line = (i: number, actor: string, name: string) =>
  JSON.stringify({
    id: `ev-${i}`,
    time: '2026-11-26T08:00:00Z',
    action: i % 2 ? 'card.read' : 'user.login',
    actor: { id: actor, name, type: 'user' },
    outcome: 'success',
    source: { ip: `198.51.100.${i}`, userAgent: `Agent-${name}-${i}`, region: 'eu-west-1' },
  });

async function* chunks(text: string): AsyncIterable<string> {
  yield text;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auditlock-sealed-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function hits(s: SealedFixture, subjects?: string[]): Promise<EventHit[]> {
  const out: EventHit[] = [];
  await searchEvents(s.store, { trustedKeys: [s.fx.key.trusted], filter: { subjects } }, (h) => {
    out.push(h);
  });
  return out;
}

/** Every byte of every file under `root`, concatenated. */
async function allBytes(root: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  const walk = async (d: string) => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      if ((await stat(p)).isDirectory()) await walk(p);
      else parts.push(await readFile(p));
    }
  };
  await walk(root);
  return Buffer.concat(parts);
}

const lines = [
  line(1, ALICE, 'Alice'),
  line(2, BOB, 'Bob'),
  line(3, ALICE, 'Alice'),
  line(4, BOB, 'Bob'),
];

describe('sealed fields on the way in and out', () => {
  it('stores no plaintext of a sealed field and reads it back with the keys', async () => {
    const s = await sealedFixture(dir);
    const r = await ingestSealed(s, lines);
    expect(r).toMatchObject({ archived: 4, rejected: 0 });
    const bytes = await allBytes(join(dir, 'store'));
    for (const secret of [ALICE, BOB, 'Alice', '198.51.100.1', 'Agent-Alice-1'])
      expect(bytes.includes(secret)).toBe(false);
    expect(bytes.includes('"action":"card.read"')).toBe(true);
    const found = await hits(s);
    expect(found.map((h) => h.entry.kind)).toEqual(Array(4).fill('sealed-event'));
    const opened = await openSealedEntry(found[0]?.entry as SealedEventEntry, ORIGIN, s.keys);
    expect(opened.fields.every((f) => f.state === 'open')).toBe(true);
    expect(opened.event).toEqual(JSON.parse(lines[0] as string));
    // Without the key store: present but not shown.
    const closed = await openSealedEntry(found[0]?.entry as SealedEventEntry, ORIGIN, undefined);
    expect(closed.fields.map((f) => f.state)).toEqual(['sealed', 'sealed', 'sealed', 'sealed']);
  });

  it('finds everything one subject did by pseudonym', async () => {
    const s = await sealedFixture(dir);
    await ingestSealed(s, lines);
    const found = await hits(s, [s.keys.pseudonymOf(ALICE)]);
    expect(found.map((h) => h.index)).toEqual([0, 2]);
    expect(await hits(s, [s.keys.pseudonymOf('nobody@example.com')])).toEqual([]);
  });

  it('rejects an event whose subject id is missing, and refuses quarantine with sealing', async () => {
    const s = await sealedFixture(dir);
    const detailConfig = parseSealConfig({
      v: 1,
      fields: [{ path: 'detail.email', subject: 'detail.uid' }],
    });
    const archiver = await s.fx.open();
    const rejected: string[] = [];
    const r = await ingestJsonLines({
      archiver,
      input: chunks(
        `${JSON.stringify({ time: '2026-11-26T08:00:00Z', action: 'a', actor: { id: 'x' }, outcome: 'success', detail: { email: 'carol@example.com' } })}\n`,
      ),
      inputName: 'in',
      seal: sealingSubmit(archiver, detailConfig, s.keys),
      onReject: (rj) => rejected.push(rj.error.code),
    });
    await archiver.close();
    expect(r).toMatchObject({ archived: 0, rejected: 1 });
    expect(rejected).toEqual(['SUBJECT_MISSING']);
    expect((await allBytes(join(dir, 'store'))).includes('carol@example.com')).toBe(false);
    const again = await s.fx.open();
    await expect(
      ingestJsonLines({
        archiver: again,
        input: chunks(''),
        inputName: 'in',
        quarantine: true,
        seal: sealingSubmit(again, ACTOR_SEAL_CONFIG, s.keys),
      }),
    ).rejects.toMatchObject({ code: 'SEAL_QUARANTINE_CONFLICT' });
    await again.close();
  });

  it('fails loudly and writes no plaintext when the key store is unavailable', async () => {
    const s = await sealedFixture(dir);
    await rm(join(dir, 'keys'), { recursive: true });
    await expect(ingestSealed(s, lines)).rejects.toMatchObject({ code: 'KEY_STORE_UNAVAILABLE' });
    const bytes = await allBytes(join(dir, 'store')).catch(() => Buffer.alloc(0));
    expect(bytes.includes(ALICE)).toBe(false);
    expect(bytes.includes('198.51.100.1')).toBe(false);
  });
});

describe('erase-subject', () => {
  it('destroys the key: no byte of the store or key store reveals the value or its salt; everything still verifies; readers show erased', async () => {
    // Prepare: ingest, then note the salts of Alice's fields and receipts of both subjects.
    const s = await sealedFixture(dir);
    await ingestSealed(s, lines);
    const before = await hits(s);
    const aliceEntry = before[0]?.entry as SealedEventEntry;
    const opened = await openSealedEntry(aliceEntry, ORIGIN, s.keys);
    const salts = [...opened.salts.values()];
    expect(salts).toHaveLength(4);
    const trusted = [s.fx.key.trusted];
    const receiptsBefore = await Promise.all(
      [0, 1].map((index) => makeReceipt(s.store, 'main', { index }, { trustedKeys: trusted })),
    );
    const disclosure = formatDisclosure([
      { field: 'actor.id', salt: opened.salts.get('actor.id') as Uint8Array, value: ALICE },
    ]);
    const keyFilesBefore = await readdir(join(dir, 'keys'));

    // Act: erase Alice.
    const archiver = await s.fx.open();
    const erased = await eraseSubject({
      keys: s.keys,
      subjectId: ALICE,
      requestedBy: 'dpo@example.com',
      legalBasis: 'GDPR Art. 17(1)(a)',
      reason: 'request 2026-118',
      archiver,
      clock: s.fx.clock,
    });
    await archiver.close();

    // Assess: the key file is gone, and neither store holds the value or any of its salts.
    expect(erased.pseudonym).toBe(s.keys.pseudonymOf(ALICE));
    const keyFilesAfter = await readdir(join(dir, 'keys'));
    expect(keyFilesBefore.length - keyFilesAfter.length).toBe(1);
    expect(keyFilesAfter).not.toContain(`${erased.pseudonym}.key`);
    for (const root of ['store', 'keys']) {
      const bytes = await allBytes(join(dir, root));
      for (const secret of [ALICE, 'Alice', '198.51.100.1', 'Agent-Alice-1'])
        expect(bytes.includes(secret)).toBe(false);
      for (const salt of salts) {
        expect(bytes.includes(Buffer.from(salt))).toBe(false);
        expect(bytes.includes(toBase64(salt))).toBe(false);
      }
    }
    // Readers: Alice's fields erased, Bob's open, clear fields still there.
    const fresh = await SubjectKeys.open({ store: s.keyStore, wrapper: s.wrapper });
    const after = await hits(s);
    const states = await Promise.all(
      after
        .filter((h) => h.entry.kind === 'sealed-event')
        .map(
          async (h) =>
            (await openSealedEntry(h.entry as SealedEventEntry, ORIGIN, fresh)).fields[0]?.state,
        ),
    );
    expect(states).toEqual(['erased', 'open', 'erased', 'open']);
    // The erasure itself is an event with the pseudonym, not the subject id.
    const record = after.at(-1)?.entry;
    expect(record).toMatchObject({
      kind: 'event',
      event: {
        action: ERASURE_ACTION,
        actor: { id: 'dpo@example.com' },
        detail: { subject: erased.pseudonym, key: erased.keyId, legalBasis: 'GDPR Art. 17(1)(a)' },
      },
    });
    // Every segment still passes the trusted checks; old receipts and new ones verify.
    for (const seq of [0, 1, 2]) await readTrustedSegment(s.store, 'main', seq, trusted);
    const verified = await verifyStore(s.store, { trustedKeys: trusted, strictEntries: true });
    expect(verified).toMatchObject({ findings: 0, ok: true, complete: true });
    expect(verified.logs[0]).toMatchObject({ entries: 5 });
    for (const r of receiptsBefore)
      expect(verifyReceipt(r.text, { trustedKeys: trusted }).index).toBe(r.index);
    for (const index of [0, 1, 2, 3, 4]) {
      const r = await makeReceipt(s.store, 'main', { index }, { trustedKeys: trusted });
      expect(verifyReceipt(r.text, { trustedKeys: trusted }).index).toBe(index);
      const proof = await proveEntry(s.store, 'main', { index }, { trustedKeys: trusted });
      expect(proof).toBeDefined();
    }
    // The census for `verify --keys`: erased fields are counted, not reported as findings.
    expect(await censusSealed(s.store, { trustedKeys: trusted }, fresh)).toEqual({
      entries: 4,
      open: 8,
      erased: 8,
      invalid: 0,
      erasedSubjects: 1,
    });
    // A disclosure made before the erasure still matches the commitment (the auditor holds it).
    const v = verifyReceipt(receiptsBefore[0]?.text as string, { trustedKeys: trusted });
    expect(verifyDisclosure(v.entry, disclosure)).toEqual([{ field: 'actor.id', value: ALICE }]);
  });

  it('refuses an unknown subject and records nothing', async () => {
    const s = await sealedFixture(dir);
    await ingestSealed(s, lines);
    const sizeBefore = (await hits(s)).length;
    const archiver = await s.fx.open();
    await expect(
      eraseSubject({
        keys: s.keys,
        subjectId: 'nobody@example.com',
        requestedBy: 'dpo@example.com',
        legalBasis: 'GDPR Art. 17(1)(a)',
        archiver,
        clock: s.fx.clock,
      }),
    ).rejects.toMatchObject({ code: 'SUBJECT_UNKNOWN' });
    await archiver.close();
    expect((await hits(s)).length).toBe(sizeBefore);
  });

  it('gives a subject seen again after erasure a new key; the old fields stay erased', async () => {
    const s = await sealedFixture(dir);
    await ingestSealed(s, [line(1, ALICE, 'Alice')]);
    const archiver = await s.fx.open();
    const erased = await eraseSubject({
      keys: s.keys,
      subjectId: ALICE,
      requestedBy: 'dpo@example.com',
      legalBasis: 'consent withdrawn',
      archiver,
      clock: s.fx.clock,
    });
    await archiver.close();
    await ingestSealed(s, [line(5, ALICE, 'Alice')]);
    const sealed = (await hits(s)).filter((h) => h.entry.kind === 'sealed-event');
    const states = await Promise.all(
      sealed.map(
        async (h) =>
          (await openSealedEntry(h.entry as SealedEventEntry, ORIGIN, s.keys)).fields[0]?.state,
      ),
    );
    expect(states).toEqual(['erased', 'open']);
    const later = sealed[1]?.entry as SealedEventEntry;
    expect(later.sealed[0]?.key).not.toBe(erased.keyId);
  });
});

describe('disclosure', () => {
  it('verifies a disclosed value against its commitment and rejects a wrong value or salt', async () => {
    const s = await sealedFixture(dir);
    await ingestSealed(s, lines);
    const entry = (await hits(s))[1]?.entry as SealedEventEntry;
    const opened = await openSealedEntry(entry, ORIGIN, s.keys);
    const salt = opened.salts.get('source.ip') as Uint8Array;
    const ok = formatDisclosure([{ field: 'source.ip', salt, value: '198.51.100.2' }]);
    expect(verifyDisclosure(entry, ok)).toEqual([{ field: 'source.ip', value: '198.51.100.2' }]);
    const wrongValue = formatDisclosure([{ field: 'source.ip', salt, value: '198.51.100.3' }]);
    expect(() => verifyDisclosure(entry, wrongValue)).toThrow(
      expect.objectContaining({ code: 'DISCLOSURE_MISMATCH' }),
    );
    const wrongSalt = formatDisclosure([
      { field: 'source.ip', salt: new Uint8Array(randomBytes(32)), value: '198.51.100.2' },
    ]);
    expect(() => verifyDisclosure(entry, wrongSalt)).toThrow(
      expect.objectContaining({ code: 'DISCLOSURE_MISMATCH' }),
    );
    const otherField = formatDisclosure([{ field: 'detail.x', salt, value: 1 }]);
    expect(() => verifyDisclosure(entry, otherField)).toThrow(
      expect.objectContaining({ code: 'DISCLOSURE_INVALID' }),
    );
    expect(() => verifyDisclosure(entry, '{"v":1}')).toThrow(
      expect.objectContaining({ code: 'DISCLOSURE_INVALID' }),
    );
  });
});
