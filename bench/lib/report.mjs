/**
 * Turns the benchmark results into Markdown tables: printed by bench/run.mjs and written into
 * docs/PERFORMANCE.md between the `bench:begin` / `bench:end` markers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderHostile } from '../hostile.mjs';

export const TARGETS = { ingestRatio: 0.6, verifyRatio: 0.6, rssMiB: 256 };
const HOSTILE_HEADING =
  '### Hostile input (issue 7): one stored object each, verified in a fresh process';
const HOSTILE_TARGETS =
  'Targets: any object the format allows verifies in < 512 MB peak RSS; an object of at most ' +
  '64 KiB in < 1 s and < 256 MB (issue 14: nothing here may get worse).';
const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

const int = (n) => Math.round(n).toLocaleString('en-US');
const fix = (n, d = 2) => n.toFixed(d);
const mb = (n) => `${n.toFixed(0)} MB/s`;
const range = (r) => `${fix(r.median)} (${fix(r.min)}–${fix(r.max)})`;
const verdict = (ok) => (ok ? '**pass**' : '**FAIL**');
const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

/** Pass/fail of each target, for the summary and the exit message. */
export function verdicts(results) {
  const out = [];
  const ingest = results.ingest?.encodings.identity;
  if (ingest)
    out.push({ name: 'ingest ≥ 0.6× floor', ok: ingest.ratio.median >= TARGETS.ingestRatio });
  if (results.verify)
    out.push({
      name: 'verify ≥ 0.6× floor',
      ok: results.verify.identity.ratio.median >= TARGETS.verifyRatio,
    });
  if (results.rss)
    out.push({
      name: `verify ${int(results.rss.events)} events < ${TARGETS.rssMiB} MiB peak RSS`,
      ok: results.rss.maxRssKiB < TARGETS.rssMiB * 1024,
    });
  return out;
}

export function renderMarkdown(results, meta) {
  const parts = [];
  const m = meta.machine;
  parts.push(
    `Measured ${meta.date} by \`node bench/run.mjs${meta.argv.length ? ` ${meta.argv.join(' ')}` : ''}\`` +
      `${meta.commit ? ` at commit \`${meta.commit}\`` : ''}, in ${fix(meta.seconds / 60, 1)} minutes.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM; Node ${m.node}; ${m.os}. ` +
      `Load average ${m.loadAverage.join(' / ')} at the start and ${meta.loadAverageEnd.join(' / ')} at the end ` +
      '(1 / 5 / 15 min; above zero means other processes competed for the cores).',
  );
  const targetRows = [];
  const ing = results.ingest;
  if (ing) {
    const e = ing.encodings.identity;
    targetRows.push([
      `ingest, identity (${int(ing.events)} events × ${ing.reps})`,
      `${int(e.eventsPerSec)} events/s, ${mb(e.mbPerSec)}`,
      `${int(e.floorEventsPerSec)} events/s, ${mb(e.floorMbPerSec)}`,
      range(e.ratio),
      fix(e.cpuRatio),
      `≥ ${TARGETS.ingestRatio}`,
      verdict(e.ratio.median >= TARGETS.ingestRatio),
    ]);
  }
  const ver = results.verify;
  if (ver) {
    targetRows.push([
      `verify (${int(ver.events)} events × ${ver.reps})`,
      `${int(ver.identity.eventsPerSec)} events/s, ${mb(ver.identity.mbPerSec)}`,
      `${int(ver.floor.eventsPerSec)} events/s, ${mb(ver.floor.mbPerSec)}`,
      range(ver.identity.ratio),
      fix(ver.identity.cpuRatio),
      `≥ ${TARGETS.verifyRatio}`,
      verdict(ver.identity.ratio.median >= TARGETS.verifyRatio),
    ]);
  }
  const rss = results.rss;
  if (rss) {
    targetRows.push([
      `verify ${int(rss.events)} events: peak RSS`,
      `${fix(rss.maxRssKiB / 1024, 0)} MiB (${fix((100 * rss.maxRssKiB) / 1024 / TARGETS.rssMiB, 0)}% of the limit)`,
      '—',
      '—',
      '—',
      `< ${TARGETS.rssMiB} MiB`,
      verdict(rss.maxRssKiB < TARGETS.rssMiB * 1024),
    ]);
  }
  if (targetRows.length) {
    parts.push(
      '',
      '### Targets',
      '',
      'Ratio = floor time / measured time on the same events in the same process, median of the ' +
        'repetitions (min–max in brackets); CPU ratio is the same from process CPU time.',
      '',
      table(['measurement', 'result', 'floor', 'ratio', 'CPU ratio', 'target', ''], targetRows),
    );
  }
  const other = [];
  if (ing) {
    const g = ing.encodings.gzip;
    other.push([
      'ingest, gzip',
      `${int(g.eventsPerSec)} events/s, ${mb(g.mbPerSec)}`,
      range(g.ratio),
      `${fix(g.cpuUsPerEvent, 1)} µs/event CPU; stored ${fix(g.storedBytes / ing.encodings.identity.storedBytes)}× the identity size`,
    ]);
    other.push([
      'ingest, identity: CPU',
      `${fix(ing.encodings.identity.cpuUsPerEvent, 1)} µs/event`,
      '',
      `floor ${fix(ing.encodings.identity.floorCpuUsPerEvent, 1)} µs/event; mean event ${int(ing.meanEventBytes)} bytes of JSON`,
    ]);
  }
  if (ver) {
    other.push([
      'verify, `--strict-entries`',
      `${int(ver.strict.eventsPerSec)} events/s, ${mb(ver.strict.mbPerSec)}`,
      range(ver.strict.ratio),
      `${fix(ver.strict.cpuUsPerEvent, 1)} µs/event CPU`,
    ]);
    other.push([
      'verify, gzip log',
      `${int(ver.gzip.eventsPerSec)} events/s, ${mb(ver.gzip.mbPerSec)}`,
      range(ver.gzip.ratio),
      `${fix(ver.gzip.cpuUsPerEvent, 1)} µs/event CPU`,
    ]);
    other.push([
      'verify: CPU',
      `${fix(ver.identity.cpuUsPerEvent, 1)} µs/event`,
      '',
      `floor ${fix(ver.floor.cpuUsPerEvent, 1)} µs/event; mean stored entry ${int(ver.meanEntryBytes)} bytes`,
    ]);
  }
  if (rss) {
    other.push([
      `verify ${int(rss.events)} events: time`,
      `${fix(rss.verifyMs / 1000, 1)} s, ${int(rss.verifyEventsPerSec)} events/s`,
      '',
      `${int(rss.segments)} segment(s), ${fix(rss.storedBytes / 1e9)} GB; RSS ${fix(rss.baselineRssKiB / 1024, 0)} MiB after loading, VmHWM ${rss.vmHwmKiB ? fix(rss.vmHwmKiB / 1024, 0) : '?'} MiB`,
    ]);
    other.push([
      `writing that log (archiver)`,
      `${fix(rss.buildMs / 1000, 1)} s, ${int(rss.buildEventsPerSec)} events/s`,
      '',
      'one run, identity',
    ]);
  }
  if (other.length)
    parts.push(
      '',
      '### Other measurements (no target)',
      '',
      table(['measurement', 'result', 'ratio to floor', 'notes'], other),
    );
  if (results.hostile)
    parts.push('', HOSTILE_HEADING, '', HOSTILE_TARGETS, '', renderHostile(results.hostile));
  const st = results.stages;
  if (st) {
    const ingestRows = st.ingest.map((s, i) => {
      const prev = i > 0 && s.name.startsWith('+') ? st.ingest[i - 1].cpuUsPerEvent : undefined;
      const step =
        prev === undefined
          ? ''
          : `${s.cpuUsPerEvent >= prev ? '+' : '−'}${fix(Math.abs(s.cpuUsPerEvent - prev))}`;
      return [s.name, fix(s.cpuUsPerEvent), step];
    });
    parts.push(
      '',
      `### Where the time goes (CPU µs per event, ${int(st.events)} events, median of ${st.reps}, one process per line)`,
      '',
      'Ingest, cumulative: a `+` line is the line above plus one step.',
      '',
      table(['stage', 'µs/event', 'step'], ingestRows),
      '',
      'Verify, per stored entry: the parts of the work, then the whole.',
      '',
      table(
        ['part', 'µs/entry'],
        st.verify.map((s) => [s.name, fix(s.cpuUsPerEvent)]),
      ),
    );
  }
  const h = results.hash;
  if (h) {
    const rows = [];
    for (const [name, impls] of Object.entries(h.cases)) {
      const first = Object.keys(impls)[0];
      for (const [impl, r] of Object.entries(impls))
        rows.push([
          name,
          impl,
          int(r.nsPerOp),
          `${fix(r.vsFirst)}×`,
          impl === first ? 'baseline' : '',
        ]);
    }
    const d = h.decision;
    parts.push(
      '',
      `### SHA-256 (ns per hash, median of ${h.rounds} rounds; speed relative to the first line of each case)`,
      '',
      table(['input', 'implementation', 'ns', 'speed', ''], rows),
      '',
      `\`sha256\` is \`${d.inUse}\`; fastest measured: \`${d.fastestEvent}\` per 1 KB event, ` +
        `\`${d.fastestNode}\` per 65-byte node: ${d.ok ? 'the choice stands' : '**the choice should be revisited**'}.`,
    );
  }
  const p = results.profile;
  if (p) {
    const rows = (list) => list.map((r) => [`${fix(r.percent, 1)}%`, `\`${r.name}\``]);
    parts.push(
      '',
      `### CPU profile (${int(p.events)} events; percent of profiled time)`,
      '',
      'Ingest, self time:',
      '',
      table(['self', 'function'], rows(p.ingest.self)),
      '',
      'Ingest, inclusive time:',
      '',
      table(['inclusive', 'function'], rows(p.ingest.inclusive)),
      '',
      'Verify, self time:',
      '',
      table(['self', 'function'], rows(p.verify.self)),
      '',
      'Verify, inclusive time:',
      '',
      table(['inclusive', 'function'], rows(p.verify.inclusive)),
    );
  }
  return parts.join('\n');
}

/** Replaces the text between the markers in `path` (appending the markers if missing). */
export function writeResults(path, markdown) {
  let doc = readFileSync(path, 'utf8');
  const block = `${BEGIN}\n${markdown}\n${END}`;
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a >= 0 && b > a) doc = doc.slice(0, a) + block + doc.slice(b + END.length);
  else doc = `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, doc);
}
