/**
 * The sealed-field vector (test/vectors/sealed/vector.json) recomputed from docs/FORMAT.md §11
 * alone, with node:crypto and JSON.stringify (which is RFC 8785 for these values: ASCII member
 * names inserted in sorted order, strings, one small integer), not with src/core/sealed.ts: what an
 * independent reader's implementation must produce. Then this implementation must read it.
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeEntry, type SealedEventEntry } from '../../src/core/entry.js';
import { openSealed } from '../../src/core/sealed.js';

const vector = JSON.parse(
  readFileSync(new URL('../vectors/sealed/vector.json', import.meta.url), 'utf8'),
) as {
  inputs: {
    pseudonymKeyHex: string;
    dataKeyHex: string;
    keyId: string;
    origin: string;
    event: { actor: { id: string; name: string }; detail: { contact: unknown; n: number } };
  };
  entry: string;
};
const { inputs } = vector;
const stored = JSON.parse(vector.entry) as SealedEventEntry;

describe('sealed-field vector, recomputed from FORMAT.md §11', () => {
  const dataKey = Buffer.from(inputs.dataKeyHex, 'hex');
  const subject = createHmac('sha256', Buffer.from(inputs.pseudonymKeyHex, 'hex'))
    .update(inputs.event.actor.id, 'utf8')
    .digest('hex');
  const values: [string, unknown][] = [
    ['actor.id', inputs.event.actor.id],
    ['actor.name', inputs.event.actor.name],
    ['detail.contact', inputs.event.detail.contact],
  ];

  it.each(values.map(([f, v], i) => [f, v, i] as const))('record %s', (field, value, i) => {
    const salt = Buffer.alloc(32, i + 1);
    const nonce = Buffer.alloc(12, i + 1);
    const v = Buffer.from(JSON.stringify(value), 'utf8');
    const commitment = createHash('sha256').update(salt).update(v).digest('base64');
    const aad = JSON.stringify({
      commitment,
      field,
      key: inputs.keyId,
      origin: inputs.origin,
      subject,
    });
    const cipher = createCipheriv('aes-256-gcm', dataKey, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([
      cipher.update(Buffer.concat([salt, v])),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    expect(stored.sealed[i]).toEqual({
      ciphertext: ct.toString('base64'),
      commitment,
      field,
      key: inputs.keyId,
      nonce: nonce.toString('base64'),
      subject,
    });
  });

  it('keeps the rest of the event in clear, the sealed members removed', () => {
    expect(stored.event).toEqual({
      action: 'user.login',
      actor: {},
      detail: { n: 1 },
      outcome: 'success',
      time: '2026-11-26T08:16:35Z',
    });
  });

  it('is read by this implementation: strict decode, and opened to the original event', () => {
    const entry = decodeEntry(new TextEncoder().encode(vector.entry)) as SealedEventEntry;
    const key = { keyId: inputs.keyId, key: new Uint8Array(Buffer.from(inputs.dataKeyHex, 'hex')) };
    const opened = openSealed(entry, inputs.origin, () => key);
    expect(opened.fields.map((f) => f.state)).toEqual(['open', 'open', 'open']);
    expect(opened.event).toEqual(inputs.event);
  });
});
