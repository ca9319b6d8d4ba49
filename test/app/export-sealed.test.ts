/**
 * Sealed events (FORMAT.md §11) in the OCSF export and in receipts by id: a sealed event exports
 * as its class with the stand-ins in place of the sealed fields and each sealed field listed in
 * `unmapped` with its subject pseudonym; no byte of the export holds a sealed value; a receipt is
 * found by the event's id (in clear) and verifies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportOcsf } from '../../src/app/export.js';
import { makeReceipt, verifyReceipt } from '../../src/app/receipt.js';
import { DEFAULT_OCSF_CONFIG } from '../../src/core/ocsf-config.js';
import { ingestSealed, sealedFixture } from '../helpers/sealed.js';

const ALICE = 'alice.liddell@example.com';
const lines = [1, 2, 3].map((i) =>
  JSON.stringify({
    id: `ev-${i}`,
    time: '2026-11-26T08:00:00Z',
    action: i === 2 ? 'iam:CreateUser' : 'user.login',
    actor: { id: ALICE, name: 'Alice', type: 'user' },
    outcome: 'success',
    source: { ip: `198.51.100.${i}`, userAgent: `Agent-Alice-${i}`, region: 'eu-west-1' },
  }),
);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auditlock-export-sealed-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sealed events in export and receipts', () => {
  it('exports stand-ins and the sealed fields list, never a sealed value', async () => {
    // Prepare
    const s = await sealedFixture(dir);
    expect(await ingestSealed(s, lines)).toMatchObject({ archived: 3 });
    const rows: Record<string, unknown>[] = [];

    // Act
    const r = await exportOcsf(
      s.store,
      {
        trustedKeys: [s.fx.key.trusted],
        config: DEFAULT_OCSF_CONFIG,
        productVersion: 'test',
        output: 'jsonl',
      },
      (row) => {
        rows.push(row as Record<string, unknown>);
      },
    );

    // Assess
    expect(r.rows).toBe(3);
    const text = JSON.stringify(rows);
    for (const secret of [ALICE, 'Alice', '198.51.100.1', 'Agent-Alice-1'])
      expect(text.includes(secret)).toBe(false);
    const first = rows[0] as {
      metadata: { uid: string };
      unmapped: Record<string, string>;
      src_endpoint?: { ip?: string };
    };
    expect(first.metadata.uid).toBe('ev-1');
    expect(first.unmapped['auditlock.kind']).toBe('sealed-event');
    const sealed = JSON.parse(first.unmapped['auditlock.sealed'] as string) as {
      field: string;
      state: string;
      subject: string;
    }[];
    expect(sealed.map((f) => f.field)).toEqual([
      'actor.id',
      'actor.name',
      'source.ip',
      'source.userAgent',
    ]);
    expect(new Set(sealed.map((f) => f.subject))).toEqual(new Set([s.keys.pseudonymOf(ALICE)]));
    expect(sealed.every((f) => f.state === 'sealed')).toBe(true);
    expect(first.src_endpoint?.ip).toBe('192.0.2.0');
  });

  it('finds a sealed event by its id for a receipt that verifies', async () => {
    const s = await sealedFixture(dir);
    await ingestSealed(s, lines);
    const opts = { trustedKeys: [s.fx.key.trusted] };
    const byId = await makeReceipt(s.store, 'main', { id: 'ev-3' }, opts);
    const byIndex = await makeReceipt(s.store, 'main', { index: 2 }, opts);
    expect(byId.text).toBe(byIndex.text);
    expect(verifyReceipt(byId.text, opts).entry).toMatchObject({
      kind: 'sealed-event',
      event: { id: 'ev-3' },
    });
  });
});
