#!/usr/bin/env node
// Writes the golden log in test/vectors/golden/ (run once; the output is committed and must never
// change: test/core/golden.test.ts checks this implementation still reads it identically).
// Uses a throwaway key that exists only for these vectors.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { FolderStore } from '../dist/adapters/folder-store.js';
import { generateKeyPair } from '../dist/adapters/keys.js';
import { LocalSigner } from '../dist/adapters/local-signer.js';
import { Archiver } from '../dist/app/archiver.js';
import { decodeBody, splitEntries } from '../dist/core/body-codec.js';
import { utf8 } from '../dist/core/encoding.js';
import { InputError } from '../dist/core/errors.js';
import { parseEvent } from '../dist/core/event.js';
import { parseSegment } from '../dist/core/segment.js';

const dir = 'test/vectors/golden';
if (existsSync(`${dir}/store`)) {
  console.error(`${dir}/store exists; the golden log is written once`);
  process.exit(1);
}
mkdirSync(dir, { recursive: true });
const pair = generateKeyPair();
writeFileSync(`${dir}/signing-key.pem`, pair.privateKeyPem);
writeFileSync(`${dir}/signing-key.pub.pem`, pair.publicKeyPem);
const signer = LocalSigner.fromPem(pair.privateKeyPem);
mkdirSync(`${dir}/store`);
const store = new FolderStore(`${dir}/store`);
let t = Date.UTC(2026, 10, 26, 8, 0, 0, 0);
const clock = { now: () => (t += 7) };
const origin = 'golden.auditlock.example/v1';
const ev = (i, extra = {}) =>
  parseEvent({
    id: `golden-${i}`,
    time: `2026-11-26T07:5${i}:00+01:00`,
    action: [
      'user.login',
      'iam:CreateUser',
      'card.read',
      'patient.record.view',
      'trade.approve',
      'config.update',
    ][i % 6],
    actor: {
      id: `user-${i}`,
      type: 'user',
      name: ['Zoë Ångström', 'Łukasz Żółć', '山田太郎', 'Ελένη', 'Oğuz', 'Søren'][i % 6],
    },
    resources: [{ type: 'example:resource', id: `res-${i}`, region: 'eu-west-1' }],
    outcome: i % 3 === 2 ? 'failure' : 'success',
    ...(i % 3 === 2 ? { reason: { code: 'AccessDenied', message: 'policy denies this' } } : {}),
    source: { ip: i % 2 ? '2001:db8::7' : '198.51.100.23', userAgent: 'golden/1.0' },
    detail: { i, emoji: '🔒', nested: { list: [1, 2.5, -0, 1e21, 'x'] } },
    ...extra,
  });
const write = async (encoding, fn) => {
  const a = await Archiver.open({
    store,
    signer,
    clock,
    log: 'default',
    origin,
    encoding,
    maxEvents: 100,
    maxAgeMs: 60_000,
  });
  await fn(a);
  await a.close();
};
await write('identity', async (a) => {
  await Promise.all(
    [0, 1, 2].map((i) => a.append(ev(i), { source: 'cli', id: `golden.jsonl:${i + 1}` })),
  );
});
await write('gzip', async (a) => {
  const bad = '{"time":"2026-11-26T08:00:00Z","action":"x","outcome":"ok"}';
  const err = new InputError('EVENT_INVALID', 'line 6: actor missing; outcome invalid', {
    issues: [
      { path: 'actor', message: 'expected object, got nothing (field missing)' },
      {
        path: 'outcome',
        message: 'expected one of "success", "failure", "unknown", got string "ok"',
      },
    ],
  });
  await Promise.all([
    a.append(ev(3)),
    a.append(ev(4)),
    a.quarantine(utf8(bad), err, { source: 'cli', id: 'golden.jsonl:6' }),
  ]);
});
await write('identity', async (a) => {
  await a.append(ev(5));
});
const hex = (b) => Buffer.from(b).toString('hex');
const segments = [];
const leaves = [];
for await (const { key } of store.list('')) {
  const bytes = readFileSync(`${dir}/store/${key}`);
  const seg = parseSegment(new Uint8Array(bytes));
  segments.push({
    key,
    seq: seg.checkpoint.seq,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    treeSize: seg.checkpoint.treeSize,
    root: hex(seg.checkpoint.root),
    encoding: seg.header.encoding,
  });
  for (const e of splitEntries(decodeBody(seg.body, seg.header.encoding, seg.header.rawLength)))
    leaves.push(
      createHash('sha256')
        .update(Buffer.from([0]))
        .update(e)
        .digest('hex'),
    );
}
writeFileSync(
  `${dir}/EXPECTED.json`,
  `${JSON.stringify({ origin, log: 'default', publicKey: 'signing-key.pub.pem', segments, leafHashes: leaves }, null, 2)}\n`,
);
console.log(`wrote ${segments.length} segments, ${leaves.length} entries`);
