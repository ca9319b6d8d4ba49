#!/usr/bin/env node
/**
 * Hostile input: the verifier's time and peak RSS on objects built to hurt it, each signed by the
 * real key so that only the bounds of docs/FORMAT.md §3-§4 stop them. Every shape is written as a
 * one-segment folder store by a child process, then verified in a child of its own (this process
 * stays small: on Linux a child's maxRSS starts at its spawner's RSS, see bench/verify-child.mjs).
 *
 * Targets (issue 7): any object the format allows verifies in < 512 MB RSS; an object of at most
 * 64 KiB in < 1 s and < 256 MB.
 *
 *   node bench/hostile.mjs [--only shape,shape] [--out result.json]
 *   node bench/hostile.mjs --build DIR            (writes every shape under DIR; internal)
 *   node bench/hostile.mjs --verify DIR --spki B64 [--strict]   (verifies one store; internal)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { log, parseArgs } from './lib/measure.mjs';
import { makeTempDir, removeTempDir } from './lib/temp.mjs';

const SMALL_OBJECT = 64 * 1024;
const TARGETS = { anyRssMiB: 512, smallRssMiB: 256, smallMs: 1000 };

/** What each shape is, for the table. */
const SHAPES = {
  'lines-over-count':
    'gzip body of ~22M lines "{}", header count 3 (the old bomb: one view per line)',
  'lines-at-count':
    'gzip body of 1,000,000 lines "{}", header count 1,000,000 (one finding per entry)',
  'structural-at-count': '1,000,000 minimal entries that pass the structural check, gzip',
  'huge-entry': 'one ~64 MiB entry of nested brackets (and two tiny ones), gzip',
  'deep-entries': '240 entries of 266,000 nested brackets each (~64 MiB raw), gzip',
  'ratio-claim': 'header claims rawLength 64 MiB over a 30-byte DEFLATE stream',
  'max-segment': 'a 64 MiB identity segment of the largest valid entries (~262 KB each)',
  'max-segment-strict': 'the same, with --strict-entries (full schema per entry)',
};

const self = fileURLToPath(import.meta.url);
const node = (args) =>
  JSON.parse(
    execFileSync(process.execPath, [self, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    }),
  );

export async function benchHostile({ only } = {}) {
  const dir = makeTempDir('hostile');
  try {
    log('hostile: building the shapes');
    const built = node(['--build', dir]);
    const rows = [];
    for (const [shape, about] of Object.entries(SHAPES)) {
      if (only && !only.includes(shape)) continue;
      const store = shape === 'max-segment-strict' ? 'max-segment' : shape;
      const b = built.shapes[store];
      const r = node([
        '--verify',
        `${dir}/${store}`,
        '--spki',
        built.spki,
        ...(shape.endsWith('-strict') ? ['--strict'] : []),
      ]);
      const small = b.objectBytes <= SMALL_OBJECT;
      const rssMiB = r.maxRssKiB / 1024;
      const ok =
        rssMiB < TARGETS.anyRssMiB &&
        (!small || (rssMiB < TARGETS.smallRssMiB && r.wallMs < TARGETS.smallMs));
      rows.push({ shape, about, ...b, ...r, small, ok });
      log(
        `hostile: ${shape}: ${(b.objectBytes / 1024).toFixed(0)} KiB object, ${r.wallMs.toFixed(0)} ms (CPU ${r.cpuMs.toFixed(0)} ms), peak RSS ${rssMiB.toFixed(0)} MiB, findings ${JSON.stringify(r.codes)}${ok ? '' : '  <-- over target'}`,
      );
    }
    return { targets: TARGETS, smallObjectBytes: SMALL_OBJECT, rows };
  } finally {
    removeTempDir(dir);
  }
}

/** A Markdown table of {@link benchHostile}'s rows. */
export function renderHostile(result) {
  const lines = [
    '| shape | object | raw body | findings | wall | CPU | peak RSS | target |',
    '|---|---:|---:|---|---:|---:|---:|---|',
  ];
  for (const r of result.rows)
    lines.push(
      `| ${r.shape}: ${r.about} | ${fmtBytes(r.objectBytes)} | ${fmtBytes(r.rawBytes)} | ${Object.entries(
        r.codes,
      )
        .map(([c, n]) => `${c} ×${n}`)
        .join(
          ', ',
        )} | ${(r.wallMs / 1000).toFixed(2)} s | ${(r.cpuMs / 1000).toFixed(2)} s | ${(r.maxRssKiB / 1024).toFixed(0)} MiB | ${r.ok ? 'met' : 'MISSED'} (${r.small ? '≤ 64 KiB: < 1 s, < 256 MB' : '< 512 MB'}) |`,
    );
  return lines.join('\n');
}

function fmtBytes(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

/** Writes every shape as a one-segment folder store `DIR/<shape>/main/seg/…`. */
async function build(dir) {
  const { mkdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { generateKeyPair, LocalSigner, parseEvent, makeEventEntry, encodeEntry, canonicalize } =
    await import('./lib/dist.mjs');
  const DIST = process.env.AUDITLOCK_BENCH_DIST
    ? new URL(`file://${process.env.AUDITLOCK_BENCH_DIST.replace(/\/?$/, '/')}`)
    : new URL('../dist/', import.meta.url);
  const load = (p) => import(new URL(p, DIST).href);
  const { emptyHead, sealSegment } = await load('core/seal.js');
  const { encodeBody } = await load('core/body-codec.js');
  const seg = await load('core/segment.js');
  const { signNoteText } = await load('core/note.js');
  const { sha256 } = await load('core/hash.js');
  const { segmentKey } = await load('core/layout.js');
  const { MAX_ENTRY_BYTES } = await load('core/entry.js');

  const pair = generateKeyPair();
  const signer = LocalSigner.fromPem(pair.privateKeyPem);
  const origin = 'bench.example.com/hostile';
  const t0 = Date.UTC(2026, 11, 1, 8, 0, 0);
  const event = (i, detail) =>
    parseEvent({
      id: `evt-${i}`,
      time: '2026-12-01T07:59:00.000Z',
      actor: { id: 'u' },
      action: 'a',
      outcome: 'success',
      ...(detail ? { detail } : {}),
    });
  const entry = (i, detail) => encodeEntry(makeEventEntry(event(i, detail), t0));
  const seal = (entries, encoding) =>
    sealSegment({
      head: emptyHead(origin),
      entries,
      firstReceivedAt: t0,
      lastReceivedAt: t0,
      sealedAt: t0 + 1000,
      encoding,
      signer,
    });
  const base = seg.parseSegment((await seal([entry(0), entry(1), entry(2)], 'gzip')).bytes);

  /** The base segment with another body and header numbers, re-signed by the real key. */
  async function variant(raw, { count = base.header.count, rawLength = raw.length } = {}) {
    const body = encodeBody(raw, 'gzip');
    const header = { ...base.header, count, length: body.length, rawLength };
    const payload = seg.encodePayload(header, body);
    const treeSize = header.firstIndex + count;
    const noteText = seg.formatSegmentCheckpoint({
      ...base.checkpoint,
      treeSize,
      payloadHash: sha256(payload),
    });
    const sig = await signNoteText(noteText, origin, signer);
    return seg.assembleSegment(noteText, [sig], payload);
  }
  const lines = (line, times) => {
    const one = Buffer.from(`${line}\n`);
    const out = Buffer.allocUnsafe(one.length * times);
    for (let i = 0; i < times; i++) one.copy(out, i * one.length);
    return out;
  };
  const brackets = (depth) =>
    Buffer.concat([Buffer.alloc(depth, '['), Buffer.alloc(depth, ']'), Buffer.from('\n')]);
  const minimal = Buffer.from(
    canonicalize({ kind: 'event', receivedAt: new Date(t0).toISOString() }),
  );

  /** Each shape: [raw body length, segment bytes]. Built one at a time to keep memory down. */
  const makers = {
    'lines-over-count': async () => {
      const raw = lines('{}', Math.floor((64 * 1024 * 1024 - 64) / 3));
      return [raw.length, await variant(raw)];
    },
    'lines-at-count': async () => {
      const raw = lines('{}', 1_000_000);
      return [raw.length, await variant(raw, { count: 1_000_000 })];
    },
    'structural-at-count': async () => {
      const raw = lines(minimal.toString(), 1_000_000);
      return [raw.length, await variant(raw, { count: 1_000_000 })];
    },
    'huge-entry': async () => {
      const raw = Buffer.concat([Buffer.from('[]\n[]\n'), brackets(32 * 1024 * 1024 - 8)]);
      return [raw.length, await variant(raw)];
    },
    'deep-entries': async () => {
      const one = brackets(133_000);
      const raw = Buffer.concat(Array.from({ length: 240 }, () => one));
      return [raw.length, await variant(raw, { count: 240 })];
    },
    'ratio-claim': async () => {
      const raw = lines('[]', 3);
      return [64 * 1024 * 1024, await variant(raw, { rawLength: 64 * 1024 * 1024 })];
    },
    'max-segment': async () => {
      // The largest valid event: resources with the longest ids and names, the last one trimmed
      // until the event fits its 262,144-byte limit; its entry is close to MAX_ENTRY_BYTES.
      const resource = (n) => ({ type: 't', id: 'i'.repeat(2048), name: 'n'.repeat(n) });
      let big;
      for (let n = 2048; !big; n -= 16) {
        try {
          big = encodeEntry(
            makeEventEntry(
              parseEvent({
                time: '2026-12-01T07:59:00.000Z',
                actor: { id: 'u' },
                action: 'a',
                outcome: 'success',
                resources: [...Array.from({ length: 62 }, () => resource(2048)), resource(n)],
              }),
              t0,
            ),
          );
        } catch {}
      }
      if (big.length > MAX_ENTRY_BYTES) throw new Error(`entry is ${big.length} bytes`);
      const n = Math.floor((seg.MAX_SEGMENT_BYTES - 8192) / (big.length + 1));
      const sealed = await seal(
        Array.from({ length: n }, () => big),
        'identity',
      );
      return [n * (big.length + 1), sealed.bytes];
    },
  };
  const shapes = {};
  for (const [name, make] of Object.entries(makers)) {
    const [rawBytes, bytes] = await make();
    const path = join(dir, name, segmentKey('main', 0));
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, bytes);
    shapes[name] = { objectBytes: bytes.length, rawBytes };
  }
  return { spki: Buffer.from(pair.spki).toString('base64'), shapes };
}

/** Verifies one store in this (fresh) process; findings counted by code. */
async function verify(dir, spki, strict) {
  const { FolderStore, verifyStore } = await import('./lib/dist.mjs');
  const codes = {};
  const cpu = process.cpuUsage();
  const start = performance.now();
  await verifyStore(new FolderStore(dir), {
    trustedKeys: [{ spki: new Uint8Array(Buffer.from(spki, 'base64')) }],
    strictEntries: strict,
    onFinding: (f) => {
      codes[f.code] = (codes[f.code] ?? 0) + 1;
    },
  });
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  let vmHwmKiB;
  try {
    vmHwmKiB = Number(readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m)?.[1]);
  } catch {}
  return {
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    maxRssKiB: process.resourceUsage().maxRSS,
    vmHwmKiB,
    codes,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs();
  if (args.build) {
    process.stdout.write(`${JSON.stringify(await build(args.build))}\n`);
  } else if (args.verify) {
    process.stdout.write(
      `${JSON.stringify(await verify(args.verify, args.spki, Boolean(args.strict)))}\n`,
    );
  } else {
    const only = typeof args.only === 'string' ? args.only.split(',') : undefined;
    const result = await benchHostile({ only });
    const json = `${JSON.stringify(result, null, 2)}\n`;
    if (args.out) writeFileSync(args.out, json);
    else process.stdout.write(json);
    process.stderr.write(`\n${renderHostile(result)}\n\n`);
  }
}
