/**
 * Sealed fields (issue 12): ingest throughput with 4 sealed fields per event (actor.id,
 * actor.name, source.ip, source.userAgent; subject actor.id) against the same events unsealed,
 * in the same run, and erase-subject latency.
 *
 * Three kinds per repetition, order rotated: unsealed; sealed with every subject's key already in
 * the key store (steady state: keys are unwrapped once per run, never created); sealed into a
 * fresh key store ("cold": each of the input's subjects gets a key, two fsyncs each).
 *
 * Each repetition ingests `--events N` (default 20,000) ~1 KB events (bench/lib/events.mjs) into a
 * fresh folder store the way `auditlock ingest` does (ingestJsonLines, strict byte parsing,
 * default segment limits), once unsealed and once sealed (folder key store, local wrapping key,
 * every subject's key created on first use in that run), the order alternating per repetition.
 * The ratio sealed/unsealed is taken per repetition. Then `--erasures K` (default 20) subjects of
 * the sealed store are erased one after the other (destroy key + fsync + record event + store its
 * segment), each timed.
 *
 * Usage: `npm run build && node bench/sealed.mjs [--events N] [--reps N] [--erasures K] [--doc]`.
 * `--doc` prints a Markdown section for docs/PERFORMANCE.md; `--out FILE` writes the JSON result
 * with it (`npm run bench` runs this as section `sealed` and puts it into its doc section).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { eventStream } from './lib/events.mjs';
import { log, median, parseArgs, timed } from './lib/measure.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const load = (path) => import(pathToFileURL(join(ROOT, 'dist', path)).href);
const { Archiver } = await load('app/archiver.js');
const { ingestJsonLines } = await load('app/ingest.js');
const { sealingSubmit } = await load('app/seal-submit.js');
const { SubjectKeys } = await load('app/subject-keys.js');
const { eraseSubject } = await load('app/erase-subject.js');
const { FolderStore } = await load('adapters/folder-store.js');
const { FolderKeyStore } = await load('adapters/folder-key-store.js');
const { LocalKeyWrapper } = await load('adapters/local-key-wrapper.js');
const { LocalSigner } = await load('adapters/local-signer.js');
const { generateKeyPair } = await load('adapters/keys.js');
const { systemClock } = await load('adapters/system-clock.js');
const { parseSealConfig } = await load('core/sealed-config.js');

const args = parseArgs();
const events = args.events ?? 20_000;
const reps = args.reps ?? 3;
const erasures = args.erasures ?? 20;
const { lineAt } = eventStream();
const signer = LocalSigner.fromPem(generateKeyPair().privateKeyPem);
const config = parseSealConfig({
  v: 1,
  subject: 'actor.id',
  fields: [
    { path: 'actor.id' },
    { path: 'actor.name' },
    { path: 'source.ip' },
    { path: 'source.userAgent' },
  ],
});

async function* input() {
  const chunk = [];
  for (let i = 0; i < events; i++) {
    chunk.push(lineAt(i));
    if (chunk.length === 1000) {
      yield `${chunk.join('\n')}\n`;
      chunk.length = 0;
    }
  }
  if (chunk.length) yield `${chunk.join('\n')}\n`;
}

/** One ingest into a fresh store under `dir`; sealed when `keys` is given. */
async function ingestOnce(dir, keys) {
  const store = new FolderStore(join(dir, 'store'));
  await store.openForWriting();
  const archiver = await Archiver.open({
    store,
    signer,
    clock: systemClock,
    log: 'bench',
    origin: 'bench.auditlock.local/sealed',
  });
  const result = await ingestJsonLines({
    archiver,
    input: input(),
    inputName: 'events.jsonl',
    seal: keys ? sealingSubmit(archiver, config, keys) : undefined,
  });
  await archiver.close();
  if (result.archived !== events) throw new Error(`archived ${result.archived} of ${events}`);
  return archiver;
}

async function freshKeys(dir) {
  const store = await FolderKeyStore.create(join(dir, 'keys'));
  const wrapper = await LocalKeyWrapper.createFile(join(dir, 'wrap.key'));
  return SubjectKeys.open({ store, wrapper, create: true });
}

// A key store whose subjects all have keys already (made by one untimed sealed ingest), for the
// warm runs: each warm run opens it afresh (empty cache), so it unwraps but never creates keys.
const warmDir = mkdtempSync(join(tmpdir(), 'auditlock-bench-sealed-warm-keys-'));
await ingestOnce(join(warmDir, 'first'), await freshKeys(warmDir));
const warmKeys = async () =>
  SubjectKeys.open({
    store: await FolderKeyStore.open(join(warmDir, 'keys')),
    wrapper: await LocalKeyWrapper.fromFile(join(warmDir, 'wrap.key')),
  });

const KINDS = ['plain', 'sealed', 'cold'];
const rows = [];
let lastSealed;
for (let r = 0; r < reps; r++) {
  // Rotate the order, so no kind always runs first or last.
  const order = KINDS.map((_, i) => KINDS[(i + r) % KINDS.length]);
  const row = {};
  for (const kind of order) {
    const dir = mkdtempSync(join(tmpdir(), `auditlock-bench-sealed-${kind}-`));
    const keys =
      kind === 'cold' ? await freshKeys(dir) : kind === 'sealed' ? await warmKeys() : undefined;
    const t = await timed(() => ingestOnce(dir, keys));
    row[kind] = { eps: events / (t.wallMs / 1000), cpuMs: t.cpuMs };
    log(`rep ${r + 1} ${kind}: ${Math.round(row[kind].eps)} events/s`);
    if (kind === 'cold' && r === reps - 1) lastSealed = { dir, keys };
    else rmSync(dir, { recursive: true, force: true });
  }
  rows.push({
    ...row,
    ratio: row.sealed.eps / row.plain.eps,
    cpuRatio: row.sealed.cpuMs / row.plain.cpuMs,
    coldRatio: row.cold.eps / row.plain.eps,
  });
}
rmSync(warmDir, { recursive: true, force: true });

// Erasure latency on the last cold store: distinct subjects, in input order.
const subjects = [];
for (let i = 0; subjects.length < erasures && i < events; i++) {
  const id = JSON.parse(lineAt(i)).actor.id;
  if (!subjects.includes(id)) subjects.push(id);
}
const eraseMs = [];
const archiver = await Archiver.open({
  store: new FolderStore(join(lastSealed.dir, 'store')),
  signer,
  clock: systemClock,
  log: 'bench',
});
for (const subjectId of subjects) {
  const t = await timed(() =>
    eraseSubject({
      keys: lastSealed.keys,
      subjectId,
      requestedBy: 'bench@example.com',
      legalBasis: 'benchmark',
      archiver,
      clock: systemClock,
    }),
  );
  eraseMs.push(t.wallMs);
}
await archiver.close();
rmSync(lastSealed.dir, { recursive: true, force: true });

const fmt = (n) => Math.round(n).toLocaleString('en');
const result = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`,
  events,
  reps,
  plainEps: median(rows.map((x) => x.plain.eps)),
  sealedEps: median(rows.map((x) => x.sealed.eps)),
  subjects: new Set(Array.from({ length: events }, (_, i) => JSON.parse(lineAt(i)).actor.id)).size,
  coldEps: median(rows.map((x) => x.cold.eps)),
  coldRatio: median(rows.map((x) => x.coldRatio)),
  coldCpuUs: (median(rows.map((x) => x.cold.cpuMs)) * 1000) / events,
  ratio: median(rows.map((x) => x.ratio)),
  ratios: rows.map((x) => Number(x.ratio.toFixed(3))),
  plainCpuUs: (median(rows.map((x) => x.plain.cpuMs)) * 1000) / events,
  sealedCpuUs: (median(rows.map((x) => x.sealed.cpuMs)) * 1000) / events,
  cpuRatio: median(rows.map((x) => x.cpuRatio)),
  erasures: eraseMs.length,
  eraseMedianMs: median(eraseMs),
  eraseMaxMs: Math.max(...eraseMs),
};
const markdown = [
  '### Sealed fields (bench/sealed.mjs)',
  '',
  `${result.machine}; ${fmt(events)} ~1 KB events per run into a folder store, ${reps} repetitions, order rotated.`,
  '',
  '| | events/s (median, wall) | CPU µs per event (median) |',
  '|---|---|---|',
  `| unsealed | ${fmt(result.plainEps)} | ${result.plainCpuUs.toFixed(0)} |`,
  `| 4 sealed fields | ${fmt(result.sealedEps)} | ${result.sealedCpuUs.toFixed(0)} |`,
  `| 4 sealed fields, every subject's key created in the run (${result.subjects} subjects) | ${fmt(result.coldEps)} | ${result.coldCpuUs.toFixed(0)} |`,
  `| ratio sealed (keys exist) / unsealed (median of per-repetition ratios; wall ${result.ratios.join(', ')}) | ${result.ratio.toFixed(2)} | ${(1 / result.cpuRatio).toFixed(2)} |`,
  `| ratio sealed (keys created) / unsealed | ${result.coldRatio.toFixed(2)} | |`,
  '',
  `erase-subject (destroy key, fsync, record event, store its segment): median ${result.eraseMedianMs.toFixed(1)} ms, max ${result.eraseMaxMs.toFixed(1)} ms over ${result.erasures} subjects.`,
].join('\n');
if (args.out) writeFileSync(args.out, `${JSON.stringify({ ...result, markdown }, null, 2)}\n`);
if (args.doc) process.stdout.write(`${markdown}\n`);
else process.stdout.write(`${JSON.stringify(result)}\n`);
