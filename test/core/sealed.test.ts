import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize, type JsonObject } from '../../src/core/canonical-json.js';
import { formatDisclosure, verifyDisclosure } from '../../src/core/disclosure.js';
import { fromBase64, toBase64 } from '../../src/core/encoding.js';
import { decodeEntry, type Entry, encodeEntry } from '../../src/core/entry.js';
import { checkEntryBytes } from '../../src/core/entry-check.js';
import { AuditlockError } from '../../src/core/errors.js';
import { parseEvent } from '../../src/core/event.js';
import { matchesEntry } from '../../src/core/event-filter.js';
import {
  associatedData,
  commitmentOf,
  type DataKey,
  fieldsToSeal,
  openSealed,
  openValue,
  pseudonymOf,
  sealFields,
} from '../../src/core/sealed.js';
import { parseSealConfig } from '../../src/core/sealed-config.js';
import { sealedEntryProblem } from '../../src/core/sealed-entry.js';

const ORIGIN = 'audit.example.com/test';
const PSEUDONYM_KEY = new Uint8Array(32).fill(7);
const random = (n: number) => new Uint8Array(randomBytes(n));

const config = parseSealConfig({
  v: 1,
  subject: 'actor.id',
  fields: [
    { path: 'source.ip' },
    { path: 'actor.id' },
    { path: 'actor.name' },
    { path: 'detail.contact.email', subject: 'detail.contact.id' },
  ],
});

const event = parseEvent({
  time: '2026-11-26T08:16:35Z',
  action: 'user.login',
  actor: { id: 'alice@example.com', name: 'Alice Example', type: 'user' },
  outcome: 'success',
  source: { ip: '203.0.113.9', region: 'eu-west-1' },
  detail: { contact: { id: 'c-77', email: 'bob@example.com' }, n: 1 },
});

function newKey(): DataKey {
  return {
    keyId: toBase64(random(16)).slice(0, 21).replace(/[+/]/g, 'A').concat('A'),
    key: random(32),
  };
}

/** Seals `event` with a fresh key per subject; returns the entry and the keys by pseudonym. */
function sealed() {
  const keys = new Map<string, DataKey>();
  const fields = fieldsToSeal(event, config);
  const parts = sealFields(
    event,
    fields,
    PSEUDONYM_KEY,
    (u) => {
      const k = keys.get(u) ?? newKey();
      keys.set(u, k);
      return k;
    },
    ORIGIN,
    random,
  );
  if (!parts) throw new Error('nothing sealed');
  const entry: Entry = {
    kind: 'sealed-event',
    receivedAt: '2026-11-26T08:16:36.000Z',
    event: parts.event,
    sealed: parts.sealed,
  };
  return { entry, keys, parts };
}

describe('sealing configuration', () => {
  it('sorts fields by path and gives each its subject path', () => {
    expect(config.fields.map((f) => [f.path, f.subject])).toEqual([
      ['actor.id', 'actor.id'],
      ['actor.name', 'actor.id'],
      ['detail.contact.email', 'detail.contact.id'],
      ['source.ip', 'actor.id'],
    ]);
  });

  it.each([
    [{ v: 1, fields: [{ path: 'actor.id' }] }, 'SEAL_CONFIG_INVALID'], // no subject path
    [{ v: 1, subject: 'actor.id', fields: [{ path: 'action' }] }, 'SEAL_PATH_INVALID'],
    [{ v: 1, subject: 'actor.id', fields: [{ path: 'resources.0.id' }] }, 'SEAL_PATH_INVALID'],
    [
      { v: 1, subject: 'actor.id', fields: [{ path: 'actor.id' }, { path: 'actor.id' }] },
      'SEAL_CONFIG_INVALID',
    ],
    [
      { v: 1, subject: 'actor.id', fields: [{ path: 'detail.a' }, { path: 'detail.a.b' }] },
      'SEAL_CONFIG_INVALID',
    ],
    [{ v: 2, subject: 'actor.id', fields: [{ path: 'actor.id' }] }, 'SEAL_CONFIG_INVALID'],
    [{ v: 1, subject: 'actor.id', fields: [] }, 'SEAL_CONFIG_INVALID'],
  ])('refuses %j with %s', (input, code) => {
    expect(() => parseSealConfig(input)).toThrow(expect.objectContaining({ code }));
  });
});

describe('sealing an event', () => {
  it('stores no plaintext value, and the stored entry decodes strictly', () => {
    const { entry } = sealed();
    const bytes = encodeEntry(entry);
    const text = Buffer.from(bytes).toString('utf8');
    for (const secret of ['alice@example.com', 'Alice Example', '203.0.113.9', 'bob@example.com'])
      expect(text).not.toContain(secret);
    // Clear fields stay clear.
    expect(text).toContain('"action":"user.login"');
    expect(text).toContain('"region":"eu-west-1"');
    expect(decodeEntry(bytes)).toEqual(entry);
    expect(checkEntryBytes(bytes, decodeEntry)).toMatchObject({ ok: true, kind: 'sealed-event' });
    expect(checkEntryBytes(bytes)).toMatchObject({ ok: true, kind: 'sealed-event' });
  });

  it('records one pseudonym per subject: HMAC-SHA-256 of the subject id', () => {
    const { entry } = sealed();
    if (entry.kind !== 'sealed-event') throw new Error('kind');
    const alice = createHash('sha256'); // not the pseudonym: a keyed HMAC is
    alice.update('alice@example.com');
    const bySubject = Object.fromEntries(entry.sealed.map((r) => [r.field, r.subject]));
    expect(bySubject['actor.id']).toBe(pseudonymOf(PSEUDONYM_KEY, 'alice@example.com'));
    expect(bySubject['actor.id']).not.toBe(alice.digest('hex'));
    expect(bySubject['source.ip']).toBe(bySubject['actor.id']);
    expect(bySubject['detail.contact.email']).toBe(pseudonymOf(PSEUDONYM_KEY, 'c-77'));
  });

  it('opens to the original event with every key, and the commitment is SHA-256(salt ‖ JCS(value))', () => {
    const { entry, keys, parts } = sealed();
    const opened = openSealed(parts, ORIGIN, (u) => keys.get(u));
    expect(opened.fields.map((f) => f.state)).toEqual(['open', 'open', 'open', 'open']);
    expect(canonicalize(opened.event)).toBe(canonicalize(event));
    if (entry.kind !== 'sealed-event') throw new Error('kind');
    const ip = entry.sealed.find((r) => r.field === 'source.ip');
    const salt = opened.salts.get('source.ip') as Uint8Array;
    expect(salt.length).toBe(32);
    expect(toBase64(commitmentOf(salt, '203.0.113.9'))).toBe(ip?.commitment);
    expect(toBase64(commitmentOf(salt, '203.0.113.8'))).not.toBe(ip?.commitment);
  });

  it('shows erased where the subject has no key or a newer one, sealed without a key store', () => {
    const { keys, parts } = sealed();
    const alice = pseudonymOf(PSEUDONYM_KEY, 'alice@example.com');
    const opened = openSealed(parts, ORIGIN, (u) => (u === alice ? undefined : keys.get(u)));
    expect(opened.fields.map((f) => [f.field, f.state])).toEqual([
      ['actor.id', 'erased'],
      ['actor.name', 'erased'],
      ['detail.contact.email', 'open'],
      ['source.ip', 'erased'],
    ]);
    expect((opened.event.actor as JsonObject).id).toBeUndefined();
    const newer = openSealed(parts, ORIGIN, (u) => (u === alice ? newKey() : keys.get(u)));
    expect(newer.fields[0]?.state).toBe('erased');
    const none = openSealed(parts, ORIGIN, () => 'unavailable');
    expect(none.fields.every((f) => f.state === 'sealed')).toBe(true);
  });

  it('reports a record moved to another log, field or commitment as invalid, never its value', () => {
    const { keys, parts } = sealed();
    const lookup = (u: string) => keys.get(u);
    expect(openSealed(parts, 'audit.example.com/other', lookup).fields[0]?.state).toBe('invalid');
    const [a, b] = parts.sealed as [(typeof parts.sealed)[0], (typeof parts.sealed)[0]];
    const swapped = { ...a, commitment: b.commitment };
    const key = keys.get(a.subject) as DataKey;
    expect(openValue(swapped, key, ORIGIN).state).toBe('invalid');
    const flipped = fromBase64(a.ciphertext);
    flipped[40] = (flipped[40] as number) ^ 1;
    expect(openValue({ ...a, ciphertext: toBase64(flipped) }, key, ORIGIN).state).toBe('invalid');
    expect(openValue({ ...a, field: 'actor.name' }, key, ORIGIN).state).toBe('invalid');
  });

  it('seals nothing when no configured field is present, and refuses a missing subject', () => {
    const plain = parseEvent({
      time: '2026-11-26T08:16:35Z',
      action: 'a',
      actor: { id: 'x' },
      outcome: 'success',
    });
    const onlyDetail = parseSealConfig({
      v: 1,
      fields: [{ path: 'detail.email', subject: 'detail.uid' }],
    });
    expect(fieldsToSeal(plain, onlyDetail)).toEqual([]);
    expect(sealFields(plain, [], PSEUDONYM_KEY, newKey, ORIGIN, random)).toBeUndefined();
    const noSubject = parseEvent({ ...plain, detail: { email: 'e@example.com' } });
    expect(() => fieldsToSeal(noSubject, onlyDetail)).toThrow(
      expect.objectContaining({ code: 'SUBJECT_MISSING' }),
    );
  });

  it('finds entries by subject pseudonym, not by a sealed actor id', () => {
    const { entry } = sealed();
    const t = Date.parse(entry.receivedAt);
    const alice = pseudonymOf(PSEUDONYM_KEY, 'alice@example.com');
    expect(matchesEntry(entry, t, { subjects: [alice] })).toBe(true);
    expect(matchesEntry(entry, t, { subjects: [pseudonymOf(PSEUDONYM_KEY, 'carol')] })).toBe(false);
    expect(matchesEntry(entry, t, { actors: ['alice@example.com'] })).toBe(false);
    expect(matchesEntry(entry, t, { actions: ['user.login'], subjects: [alice] })).toBe(true);
  });
});

describe('strict check of a sealed-event entry', () => {
  const base = () => sealed().entry as Extract<Entry, { kind: 'sealed-event' }>;
  const invalid = (entry: unknown) => {
    const bytes = new TextEncoder().encode(canonicalize(entry));
    expect(() => decodeEntry(bytes)).toThrow(AuditlockError);
    expect(checkEntryBytes(bytes, decodeEntry).ok).toBe(false);
  };

  it('refuses a sealed field also present in clear', () => {
    const e = base();
    invalid({ ...e, event: { ...e.event, source: { ip: '203.0.113.9', region: 'eu-west-1' } } });
  });
  it('refuses records out of order or twice', () => {
    const e = base();
    invalid({ ...e, sealed: [...e.sealed].reverse() });
    invalid({ ...e, sealed: [e.sealed[0], ...e.sealed] });
  });
  it('refuses an event invalid even with stand-ins, and a record of a wrong length', () => {
    const e = base();
    invalid({ ...e, event: { ...e.event, outcome: 'maybe' } });
    const r = e.sealed[0] as (typeof e.sealed)[0];
    invalid({ ...e, sealed: [{ ...r, nonce: toBase64(new Uint8Array(8)) }, ...e.sealed.slice(1)] });
    invalid({
      ...e,
      sealed: [{ ...r, commitment: toBase64(new Uint8Array(31)) }, ...e.sealed.slice(1)],
    });
    invalid({ ...e, sealed: [{ ...r, key: 'short' }, ...e.sealed.slice(1)] });
    invalid({ ...e, sealed: [] });
  });
  it('names the problem', () => {
    const e = base();
    expect(sealedEntryProblem(e.event, [...e.sealed].reverse())).toMatch(/order/);
    expect(sealedEntryProblem({ ...e.event, actor: {} }, e.sealed.slice(1))).toMatch(/stand-ins/);
  });
});

describe('hostile sealed records and disclosures', () => {
  const key = newKey();
  const record = (plain: Buffer, commitment: string) => {
    const nonce = Buffer.alloc(12, 9);
    const head = { commitment, field: 'actor.id', key: key.keyId, subject: 'b'.repeat(64) };
    const c = createCipheriv('aes-256-gcm', key.key, nonce);
    c.setAAD(associatedData(ORIGIN, head));
    const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    return { ...head, ciphertext: ct.toString('base64'), nonce: nonce.toString('base64') };
  };

  it('refuses a subject id that is empty or too long', () => {
    expect(() => pseudonymOf(PSEUDONYM_KEY, '')).toThrow(
      expect.objectContaining({ code: 'SUBJECT_INVALID' }),
    );
    expect(() => pseudonymOf(PSEUDONYM_KEY, 'x'.repeat(257))).toThrow(
      expect.objectContaining({ code: 'SUBJECT_INVALID' }),
    );
  });

  it('calls a short ciphertext, or a value that is not canonical JSON, invalid', () => {
    const short = {
      ...record(Buffer.alloc(40), toBase64(new Uint8Array(32))),
      ciphertext: toBase64(new Uint8Array(20)),
    };
    expect(openValue(short, key, ORIGIN)).toMatchObject({ state: 'invalid' });
    const salt = Buffer.alloc(32, 3);
    for (const text of ['{"b":1,"a":2}', '{"a":']) {
      const v = Buffer.from(text);
      const commitment = createHash('sha256').update(salt).update(v).digest('base64');
      const opened = openValue(record(Buffer.concat([salt, v]), commitment), key, ORIGIN);
      expect(opened).toMatchObject({ state: 'invalid' });
    }
  });

  it('refuses disclosures for an unsealed entry, with a bad salt, or for a field not sealed', () => {
    const { entry, keys, parts } = sealed();
    const salt = openSealed(parts, ORIGIN, (u) => keys.get(u)).salts.get('actor.id') as Uint8Array;
    const plain: Entry = { kind: 'event', receivedAt: entry.receivedAt, event };
    const ok = formatDisclosure([{ field: 'actor.id', salt, value: 'alice@example.com' }]);
    expect(verifyDisclosure(entry, ok)).toEqual([
      { field: 'actor.id', value: 'alice@example.com' },
    ]);
    const bad = (e: Entry, text: string) =>
      expect(() => verifyDisclosure(e, text)).toThrow(
        expect.objectContaining({ code: 'DISCLOSURE_INVALID' }),
      );
    bad(plain, ok);
    bad(entry, ok.replace(toBase64(salt), 'not base64!'));
    bad(entry, ok.replace(toBase64(salt), toBase64(new Uint8Array(16))));
    bad(entry, ok.replace('actor.id', 'actor.sessionId'));
    bad(entry, 'not json');
  });
});
