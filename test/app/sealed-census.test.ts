/**
 * verify --keys's census of sealed fields (FORMAT.md §11.2): open and erased fields are counted
 * as information; a field whose key exists but whose ciphertext does not open under it (a writer
 * storing damaged records) is a finding, SEALED_FIELD_INVALID, naming the log, segment and leaf.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { searchEvents } from '../../src/app/events.js';
import { censusSealed } from '../../src/app/sealed-census.js';
import { fromBase64, toBase64 } from '../../src/core/encoding.js';
import { makeSealedEventEntry, type SealedEventEntry } from '../../src/core/entry.js';
import type { Finding } from '../../src/core/findings.js';
import { ingestSealed, sealedFixture } from '../helpers/sealed.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auditlock-census-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const line = JSON.stringify({
  id: 'ev-1',
  time: '2026-11-26T08:00:00Z',
  action: 'user.login',
  actor: { id: 'alice@example.com', name: 'Alice', type: 'user' },
  outcome: 'success',
  source: { ip: '198.51.100.1', userAgent: 'Agent' },
});

describe('sealed-field census', () => {
  it('counts open fields, and reports a field that does not open under its existing key', async () => {
    // Prepare: one sealed event, then a copy of it whose source.ip ciphertext has a byte changed
    const s = await sealedFixture(dir);
    await ingestSealed(s, [line]);
    const entries: SealedEventEntry[] = [];
    await searchEvents(s.store, { trustedKeys: [s.fx.key.trusted], filter: {} }, (h) => {
      entries.push(h.entry as SealedEventEntry);
    });
    const original = entries[0] as SealedEventEntry;
    const damaged = original.sealed.map((r) => {
      if (r.field !== 'source.ip') return r;
      const c = fromBase64(r.ciphertext).slice();
      c[0] = (c[0] as number) ^ 1;
      return { ...r, ciphertext: toBase64(c) };
    });
    const archiver = await s.fx.open();
    const { stored } = await archiver.submitEntry((t) =>
      makeSealedEventEntry({ event: original.event, sealed: damaged }, t),
    );
    await archiver.close();
    await stored;
    const findings: Finding[] = [];

    // Act
    const census = await censusSealed(s.store, { trustedKeys: [s.fx.key.trusted] }, s.keys, (f) =>
      findings.push(f),
    );

    // Assess
    expect(census).toMatchObject({ entries: 2, open: 7, erased: 0, invalid: 1 });
    expect(findings).toMatchObject([
      { code: 'SEALED_FIELD_INVALID', log: 'main', index: 1, seq: 1 },
    ]);
    expect(findings[0]?.detail).toMatch(/source\.ip/);
  });
});
