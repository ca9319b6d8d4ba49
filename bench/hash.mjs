#!/usr/bin/env node
/**
 * SHA-256 implementations, per 1 KB event and per 65-byte Merkle node: node:crypto's incremental
 * `createHash` (`sha256Node`), `@noble/hashes` (`sha256Noble`), node:crypto's one-shot
 * `crypto.hash` (raw, `Buffer` digest), and the project's one-shot wrapper `sha256NodeOneShot`;
 * `sha256` is whichever src/core/hash.ts picked. Then the two Merkle shapes, leaf
 * `0x00 || entry` and node `0x01 || left || right`: incremental update of the parts vs
 * concatenating into one buffer for one one-shot call, vs `hashLeaf` / `hashChildren` as built.
 *
 * Every round runs every implementation of a case back to back; the median over rounds is kept.
 *
 *   node bench/hash.mjs [--rounds 15] [--ms 25] [--out result.json]
 */
import { hash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { hashChildren, hashLeaf, hashModule } from './lib/dist.mjs';
import { log, median, parseArgs } from './lib/measure.mjs';

const { sha256, sha256Node, sha256NodeOneShot, sha256Noble } = hashModule;

/** The implementations `sha256` can be, by the name src/core/hash.ts exports them under. */
export const CANDIDATES = ['sha256Node', 'sha256Noble', 'sha256NodeOneShot'];

export function benchHash({ rounds = 15, ms = 25 } = {}) {
  const event = new Uint8Array(randomBytes(1024));
  const node = new Uint8Array(randomBytes(65));
  const left = new Uint8Array(randomBytes(32));
  const right = new Uint8Array(randomBytes(32));
  const LEAF = Uint8Array.of(0);
  const NODE = Uint8Array.of(1);
  const asBytes = (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const single = (data) => ({
    sha256Node: () => sha256Node(data),
    sha256Noble: () => sha256Noble(data),
    'crypto.hash (Buffer digest)': () => hash('sha256', data, 'buffer'),
    sha256NodeOneShot: () => sha256NodeOneShot(data),
    'sha256 (in use)': () => sha256(data),
  });
  const cases = {
    'event, 1 KB': { bytes: event.length, impls: single(event) },
    'node, 65 bytes': { bytes: node.length, impls: single(node) },
    'leaf: 0x00, then 1 KB': {
      bytes: 1 + event.length,
      impls: {
        'incremental (sha256Node parts)': () => sha256Node(LEAF, event),
        'concat + crypto.hash': () =>
          asBytes(hash('sha256', Buffer.concat([LEAF, event]), 'buffer')),
        'hashLeaf (in use)': () => hashLeaf(event),
      },
    },
    'node: 0x01, left, right': {
      bytes: 65,
      impls: {
        'incremental (sha256Node parts)': () => sha256Node(NODE, left, right),
        'concat + crypto.hash': () =>
          asBytes(hash('sha256', Buffer.concat([NODE, left, right]), 'buffer')),
        'hashChildren (in use)': () => hashChildren(left, right),
      },
    },
  };
  const results = {};
  for (const [name, { bytes, impls }] of Object.entries(cases)) {
    // Iterations per timed block: enough for ~`ms` milliseconds of the slowest implementation.
    const iterations = {};
    for (const [impl, fn] of Object.entries(impls)) {
      let n = 64;
      for (;;) {
        const start = performance.now();
        for (let i = 0; i < n; i++) fn();
        if (performance.now() - start > ms / 4) break;
        n *= 2;
      }
      iterations[impl] = n * 4;
    }
    const samples = Object.fromEntries(Object.keys(impls).map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [impl, fn] of Object.entries(impls)) {
        const n = iterations[impl];
        const start = process.hrtime.bigint();
        for (let i = 0; i < n; i++) fn();
        samples[impl].push(Number(process.hrtime.bigint() - start) / n);
      }
    }
    const ns = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    const base = Object.values(ns)[0];
    results[name] = Object.fromEntries(
      Object.entries(ns).map(([k, v]) => [
        k,
        { nsPerOp: v, mbPerSec: bytes / 1e6 / (v / 1e9), vsFirst: base / v },
      ]),
    );
    log(
      `hash ${name}: ${Object.entries(ns)
        .map(([k, v]) => `${k} ${v.toFixed(0)} ns`)
        .join(', ')}`,
    );
  }
  const inUse = CANDIDATES.find((c) => hashModule[c] === sha256) ?? 'unknown';
  const fastest = (name) =>
    CANDIDATES.reduce((a, b) => (results[name][a].nsPerOp <= results[name][b].nsPerOp ? a : b));
  const decision = {
    inUse,
    fastestEvent: fastest('event, 1 KB'),
    fastestNode: fastest('node, 65 bytes'),
  };
  decision.ok = decision.fastestEvent === inUse && decision.fastestNode === inUse;
  return { rounds, cases: results, decision };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  const result = benchHash({ rounds: args.rounds, ms: args.ms });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (args.out) writeFileSync(args.out, json);
  else process.stdout.write(json);
}
