/**
 * One test per verifier finding code not covered in archive-verify.test.ts. Most of these can only
 * be produced by someone holding the signing key (a buggy or compromised writer), so the segment is
 * forged and re-signed with the trusted key: the verifier must catch a validly signed segment that
 * is inconsistent. The newest segment is forged, so no chain link masks or adds findings.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { type VerifyStoreOptions, verifyStore } from '../../src/app/verify.js';
import { parseCheckpoint } from '../../src/core/checkpoint.js';
import { toBase64, utf8 } from '../../src/core/encoding.js';
import { FINDING_CODES, type Finding, type FindingCode } from '../../src/core/findings.js';
import { sha256 } from '../../src/core/hash.js';
import { segmentKey } from '../../src/core/layout.js';
import { LogVerifier } from '../../src/core/log-verifier.js';
import { parseNote } from '../../src/core/note.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { parseSegment } from '../../src/core/segment.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import { editEntry, type Forgery, forge } from '../helpers/forge.js';
import { logFixture, makeKey, type TestKey, writeLog } from '../helpers/log-fixture.js';

const HEAD = 2;

async function setup(): Promise<{ store: MemoryStore; key: TestKey }> {
  const store = new MemoryStore();
  const key = makeKey();
  await writeLog(logFixture(store, key), 30, 10);
  return { store, key };
}

async function run(
  store: ObjectStore,
  opts: Partial<VerifyStoreOptions> & { trustedKeys: VerifyStoreOptions['trustedKeys'] },
) {
  const findings: Finding[] = [];
  const result = await verifyStore(store, { ...opts, onFinding: (f) => findings.push(f) });
  return {
    findings,
    result,
    codes: [...new Set(findings.map((f) => f.code))].sort() as FindingCode[],
  };
}

async function forgeHead(f: Omit<Forgery, 'signers'> & { signers?: Forgery['signers'] }) {
  const { store, key } = await setup();
  const k = segmentKey('main', HEAD);
  store.tamperReplace(
    k,
    await forge((await store.get(k)) as Uint8Array, { signers: [key.signer], ...f }),
  );
  return run(store, { trustedKeys: [key.trusted] });
}

describe('findings for validly signed but inconsistent segments', () => {
  it('control: re-signing an unchanged segment gives no finding', async () => {
    expect((await forgeHead({})).codes).toEqual([]);
  });

  it('SIGNATURE_INVALID: a trusted key ID with a signature that does not verify', async () => {
    const { store, key } = await setup();
    const k = segmentKey('main', HEAD);
    const text = Buffer.from((await store.get(k)) as Uint8Array).toString('latin1');
    const sigStart = text.indexOf('\xe2\x80\x94 ') + 4; // the em dash, in latin1, and a space
    const line = text.slice(sigStart, text.indexOf('\n', sigStart));
    const b64 = line.slice(line.indexOf(' ') + 1);
    const blob = Buffer.from(b64, 'base64');
    const at = blob.length - 3; // inside s: same key ID, wrong signature
    blob[at] = (blob[at] as number) ^ 0x01;
    const tampered = text.replace(b64, blob.toString('base64'));
    store.tamperReplace(k, Uint8Array.from(Buffer.from(tampered, 'latin1')));
    const { codes } = await run(store, { trustedKeys: [key.trusted] });
    expect(codes).toEqual(['SIGNATURE_INVALID']);
  });

  it('SIGNATURE_UNEXPECTED: an extra signature line from an unknown key', async () => {
    const { store, key } = await setup();
    const k = segmentKey('main', HEAD);
    store.tamperReplace(
      k,
      await forge((await store.get(k)) as Uint8Array, { signers: [key.signer, makeKey().signer] }),
    );
    expect((await run(store, { trustedKeys: [key.trusted] })).codes).toEqual([
      'SIGNATURE_UNEXPECTED',
    ]);
  });

  it('KEY_NOT_VALID_AT_SEAL_TIME: signed after the key was retired', async () => {
    const { store, key } = await setup();
    const { codes, findings } = await run(store, {
      trustedKeys: [{ ...key.trusted, notAfter: Date.UTC(2020, 0, 1) }],
    });
    expect(codes).toEqual(['KEY_NOT_VALID_AT_SEAL_TIME']);
    expect(findings).toHaveLength(3);
  });

  it('CHECKPOINT_MALFORMED: an extension line the format does not know', async () => {
    const { codes } = await forgeHead({
      noteText: (t) => t.replace('auditlock.segment', 'auditlock.segmnt'),
    });
    expect(codes).toEqual(['CHECKPOINT_MALFORMED']);
  });

  it('HEADER_INVALID: a header member the format does not know', async () => {
    const { codes } = await forgeHead({ header: (h) => ({ ...h, note: 'hi' }) });
    expect(codes).toEqual(['HEADER_INVALID']);
  });

  it('HEADER_INCONSISTENT: tree size that is not firstIndex + count', async () => {
    const { codes } = await forgeHead({
      checkpoint: (cp) => ({ ...cp, treeSize: cp.treeSize + 1 }),
    });
    expect(codes).toEqual(['HEADER_INCONSISTENT']);
  });

  it('BODY_INVALID: fewer entries than the header says', async () => {
    const { codes } = await forgeHead({ entries: (e) => e.slice(1), recomputeTree: false });
    expect(codes).toEqual(['BODY_INVALID']);
  });

  it('LEAF_INDEX_MISMATCH: a first index that skips leaves', async () => {
    const { codes } = await forgeHead({ header: (h) => ({ ...h, firstIndex: h.firstIndex + 1 }) });
    expect(codes).toContain('LEAF_INDEX_MISMATCH');
  });

  it('FRONTIER_MISMATCH: a stored frontier that is not the computed one', async () => {
    const { codes } = await forgeHead({
      header: (h) => ({
        ...h,
        frontierAfter: h.frontierAfter.map(() => 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='),
      }),
    });
    expect(codes).toEqual(['FRONTIER_MISMATCH']);
  });

  it('ROOT_MISMATCH: a signed root the entries do not hash to', async () => {
    const { codes } = await forgeHead({
      checkpoint: (cp) => ({ ...cp, root: new Uint8Array(32).fill(7) }),
    });
    expect(codes).toEqual(['ROOT_MISMATCH']);
  });

  it('ENTRY_INVALID: an entry of an unknown kind, with its leaf index', async () => {
    const { findings } = await forgeHead({
      entries: (e) =>
        e.map((x, i) => (i === 4 ? editEntry(x, (o) => ({ ...o, kind: 'other' })) : x)),
    });
    expect(findings).toEqual([
      expect.objectContaining({ code: 'ENTRY_INVALID', seq: HEAD, index: 24 }),
    ]);
  });

  it('ENTRY_INVALID (strict): a non-canonical entry is caught only by --strict-entries', async () => {
    const { store, key } = await setup();
    const k = segmentKey('main', HEAD);
    const nonCanonical = (x: Uint8Array) =>
      utf8(JSON.stringify(JSON.parse(Buffer.from(x).toString()), null, 0).replace('{"', '{ "'));
    store.tamperReplace(
      k,
      await forge((await store.get(k)) as Uint8Array, {
        signers: [key.signer],
        entries: (e) => e.map((x, i) => (i === 2 ? nonCanonical(x) : x)),
      }),
    );
    expect((await run(store, { trustedKeys: [key.trusted] })).codes).toEqual([]);
    expect((await run(store, { trustedKeys: [key.trusted], strictEntries: true })).codes).toEqual([
      'ENTRY_INVALID',
    ]);
  });

  it('RECEIVE_TIME_REGRESSION: an entry received before the one before it', async () => {
    const { codes } = await forgeHead({
      entries: (e) =>
        e.map((x, i) =>
          i === 5 ? editEntry(x, (o) => ({ ...o, receivedAt: '2026-11-26T07:00:00.000Z' })) : x,
        ),
    });
    expect(codes).toEqual(['RECEIVE_TIME_REGRESSION']);
  });

  it('RECEIVE_TIME_MISMATCH: header receive times that differ from the entries', async () => {
    const { codes } = await forgeHead({
      header: (h) => ({ ...h, firstReceivedAt: h.lastReceivedAt }),
    });
    expect(codes).toEqual(['RECEIVE_TIME_MISMATCH']);
  });

  it('SEAL_TIME_REGRESSION: sealed before its last entry was received', async () => {
    const { codes } = await forgeHead({
      checkpoint: (cp) => ({ ...cp, sealedAt: '2026-11-26T07:00:00.000Z' }),
    });
    expect(codes).toEqual(['SEAL_TIME_REGRESSION']);
  });
});

describe('findings about the log as a whole', () => {
  it('CHECKPOINT_MISMATCH: a trusted checkpoint the log disagrees with (a fork)', async () => {
    const { store, key } = await setup();
    const { result } = await run(store, { trustedKeys: [key.trusted] });
    const cp = parseCheckpoint(parseNote(result.logs[0]?.latestCheckpoint as string).text);
    const forked = { ...cp, root: new Uint8Array(32).fill(1) };
    const { codes } = await run(store, {
      trustedKeys: [key.trusted],
      trustedCheckpoints: [forked],
    });
    expect(codes).toEqual(['CHECKPOINT_MISMATCH']);
    expect(
      (await run(store, { trustedKeys: [key.trusted], trustedCheckpoints: [cp] })).codes,
    ).toEqual([]);
  });

  it('LOG_EMPTY: a requested log with no segments', async () => {
    const { store, key } = await setup();
    const { codes, result } = await run(store, {
      trustedKeys: [key.trusted],
      logs: ['nothing-here'],
    });
    expect(codes).toEqual(['LOG_EMPTY']);
    expect(result.logs.map((l) => l.log)).toEqual(['nothing-here']);
  });

  it('OBJECT_UNREADABLE: a listed segment that cannot be read back', async () => {
    const { store, key } = await setup();
    const flaky: ObjectStore = {
      location: store.location,
      putIfAbsent: (k, b) => store.putIfAbsent(k, b),
      exists: (k) => store.exists(k),
      list: (p, o) => store.list(p, o),
      get: async (k) => (k === segmentKey('main', 1) ? undefined : store.get(k)),
    };
    const { findings } = await run(flaky, { trustedKeys: [key.trusted] });
    expect(findings.map((f) => [f.code, f.seq])).toEqual([['OBJECT_UNREADABLE', 1]]);
  });

  it('CHECKSUM_MISMATCH and RETENTION_*: what a versioned store says about a segment version', async () => {
    const { store, key } = await setup();
    const k = segmentKey('main', 0);
    const bytes = (await store.get(k)) as Uint8Array;
    const findings: Finding[] = [];
    const v = new LogVerifier('main', { trustedKeys: [key.trusted], minRetentionDays: 30 }, (f) =>
      findings.push(f),
    );
    const sealed = parseTimestamp(parseSegment(bytes).checkpoint.sealedAt);
    const base = { legalHold: false, replicationStatus: undefined, lockMode: 'COMPLIANCE' };
    v.addSegment(k, 0, bytes, {
      ...base,
      checksumSha256: toBase64(sha256(bytes)),
      retainUntil: new Date(sealed + 31 * 86_400_000),
    });
    expect(findings).toEqual([]);
    const other = new LogVerifier(
      'main',
      { trustedKeys: [key.trusted], minRetentionDays: 30 },
      (f) => findings.push(f),
    );
    other.addSegment(k, 0, bytes, {
      ...base,
      checksumSha256: toBase64(new Uint8Array(32)),
      retainUntil: new Date(sealed + 29 * 86_400_000),
    });
    expect(findings.map((f) => f.code)).toEqual(['CHECKSUM_MISMATCH', 'RETENTION_TOO_SHORT']);
    findings.length = 0;
    const unlocked = new LogVerifier('main', { trustedKeys: [key.trusted] }, (f) =>
      findings.push(f),
    );
    unlocked.addSegment(k, 0, utf8('garbage'), {
      ...base,
      lockMode: undefined,
      checksumSha256: undefined,
      retainUntil: undefined,
    });
    expect(findings.map((f) => f.code)).toEqual(['CHECKSUM_MISMATCH', 'SEGMENT_MALFORMED']);
  });
});

describe('docs/FORMAT.md §5.1 documents the closed list of finding codes', () => {
  it('has exactly one row per code of FINDING_CODES, and no row for any other code', async () => {
    const doc = await readFile(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
    const start = doc.indexOf('### 5.1 Finding codes');
    const section = doc.slice(start, doc.indexOf('\n## ', start));
    expect(start).toBeGreaterThan(0);
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...rows].sort()).toEqual(Object.keys(FINDING_CODES).sort());
  });
});
