/**
 * Renders a {@link Report} as one self-contained HTML file: the verdict first, then the logs,
 * their timelines by UTC day, the findings by code, keys, retention, witnesses and replica.
 *
 * Nothing is fetched and nothing runs: no scripts, no external styles, fonts or images; the one
 * style sheet is inline and the page's Content-Security-Policy admits exactly it (by hash) and
 * nothing else, so even markup that slipped through could neither load nor run anything. Bars
 * are `<meter>` elements, not inline styles. Every piece of text from the store (log names,
 * origins, keys, finding details) is escaped twice over: terminal-unsafe characters made visible
 * as for the CLI's own output (bidirectional controls could make a detail read as something it
 * is not), then HTML-escaped.
 */
import { createHash } from 'node:crypto';
import type { FindingGroup, Report, ReportFinding, ReportLog } from '../app/report.js';
import { escapeText, formatBytes } from './output.js';

/** Findings listed per code; the rest are counted (`verify --json` lists them all). */
export const MAX_FINDINGS_SHOWN = 500;

const CSS = `
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 1.5rem;color:#1b1b1b}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #ccc}
h3{font-size:1rem;margin:1.2rem 0 .3rem}
.verdict{padding:1rem 1.25rem;border-radius:6px;border:2px solid}
.verdict.ok{background:#e7f6ea;border-color:#2e7d32}.verdict.failed{background:#fdecea;border-color:#c62828}
.verdict-text{font-size:1.6rem;font-weight:700;margin:0}.verdict .ok-mark{color:#2e7d32}.verdict .fail-mark{color:#c62828}
table{border-collapse:collapse;width:100%;margin:.3rem 0}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e3e3e3;vertical-align:top}
th{background:#f4f4f4}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.has-findings td{background:#fff4f2}code,.mono{font-family:ui-monospace,monospace;font-size:.9em;overflow-wrap:anywhere}
.meaning{margin:.1rem 0 .4rem;color:#444}meter{width:12rem}
.muted{color:#666}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
`;

/** The page, as one string. */
export function renderReportHtml(report: Report): string {
  const styleHash = createHash('sha256').update(CSS).digest('base64');
  const csp = `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'`;
  const title = `auditlock report: ${report.ok ? 'verified' : 'FAILED'}: ${report.store}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    '<h1>auditlock verification report</h1>',
    verdict(report),
    logsSection(report),
    timelineSection(report),
    findingsSection(report),
    keysSection(report),
    retentionSection(report),
    witnessSection(report),
    replicaSection(report),
    '</body></html>',
    '',
  ].join('\n');
}

/** Text for HTML: unsafe characters made visible, then the five HTML specials escaped. */
export function esc(text: string): string {
  return escapeText(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString();
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

function verdict(r: Report): string {
  const segments = r.logs.reduce((n, l) => n + l.summary.segments, 0);
  const entries = r.logs.reduce((n, l) => n + l.summary.entries, 0);
  const text = r.ok
    ? '<span class="ok-mark">VERIFIED</span>: no findings'
    : `<span class="fail-mark">FAILED</span>: <span id="finding-count">${r.findings}</span> ${r.findings === 1 ? 'finding' : 'findings'}`;
  const what = r.bundle ? 'evidence bundle' : 'store';
  return [
    `<section id="verdict" class="verdict ${r.ok ? 'ok' : 'failed'}">`,
    `<p class="verdict-text">${text}</p>`,
    `<p>${esc(what)} <code>${esc(r.store)}</code>${r.replica ? ` and replica <code>${esc(r.replica.location)}</code>` : ''}: ${plural(r.logs.length, 'log')}, ${plural(segments, 'segment')}, ${plural(entries, 'entry', 'entries')} verified.</p>`,
    r.ok
      ? '<p>Every segment is signed by a trusted key, chained to the one before, and its entries hash to the signed tree root.</p>'
      : `<p>Findings by code: ${r.groups.map((g) => `<a href="#code-${g.code}"><code>${g.code}</code></a> × ${g.findings.length}`).join(', ')}.</p>`,
    `<p class="muted">Report made ${esc(iso(r.generatedAt))}. Days are UTC.</p>`,
    '</section>',
  ].join('\n');
}

function logsSection(r: Report): string {
  const rows = r.logs.map(({ summary: l }) => {
    const range = l.firstSeq === undefined ? 'none' : `${l.firstSeq}..${l.lastSeq} (${l.segments})`;
    return `<tr${l.findings ? ' class="has-findings"' : ''}><td><code>${esc(l.log)}</code></td><td><code>${esc(l.origin ?? '')}</code></td><td class="num">${range}</td><td class="num">${l.entries}${l.quarantined ? ` (${l.quarantined} quarantined)` : ''}</td><td class="num">${l.startTreeSize ? `${l.startTreeSize}..` : ''}${l.treeSize}</td><td class="num">${esc(formatBytes(l.bytes))}</td><td>${esc(l.firstSealedAt ?? '')}<br>${esc(l.lastSealedAt ?? '')}</td><td class="num">${l.findings}</td></tr>`;
  });
  return [
    '<h2 id="logs">Logs</h2>',
    '<table><thead><tr><th>log</th><th>origin</th><th class="num">segments</th><th class="num">entries</th><th class="num">tree size</th><th class="num">bytes</th><th>first / last seal</th><th class="num">findings</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ].join('\n');
}

function timelineSection(r: Report): string {
  const out = ['<h2 id="timeline">Timeline</h2>'];
  if (r.logs.length === 0) out.push('<p>No log has segments.</p>');
  for (const l of r.logs) out.push(timeline(l));
  return out.join('\n');
}

function timeline(l: ReportLog): string {
  const max = Math.max(1, ...l.days.map((d) => d.entries));
  const rows = l.days.map(
    (d) =>
      `<tr class="day${d.findings ? ' has-findings' : ''}"><td class="mono">${d.day}</td><td class="num">${d.segments}</td><td class="num">${d.firstSeq === undefined ? '' : `${d.firstSeq}..${d.lastSeq}`}</td><td class="num">${d.entries}</td><td><meter min="0" max="${max}" value="${d.entries}"></meter></td><td class="num">${d.findings}</td></tr>`,
  );
  if (l.undated.segments > 0 || l.undated.findings > 0)
    rows.push(
      `<tr class="undated has-findings"><td>no seal time (unparseable)</td><td class="num">${l.undated.segments}</td><td></td><td></td><td></td><td class="num">${l.undated.findings}</td></tr>`,
    );
  return [
    `<h3>Log <code>${esc(l.summary.log)}</code>: ${plural(l.days.length, 'day')}</h3>`,
    `<table class="timeline" data-log="${esc(l.summary.log)}"><thead><tr><th>day (UTC)</th><th class="num">segments sealed</th><th class="num">sequence numbers</th><th class="num">entries received</th><th></th><th class="num">findings</th></tr></thead><tbody>`,
    ...rows,
    '</tbody></table>',
  ].join('\n');
}

function findingsSection(r: Report): string {
  if (r.groups.length === 0)
    return '<h2 id="findings">Findings</h2>\n<p id="no-findings">No findings.</p>';
  return ['<h2 id="findings">Findings</h2>', ...r.groups.map(group)].join('\n');
}

function group(g: FindingGroup): string {
  const shown = g.findings.slice(0, MAX_FINDINGS_SHOWN);
  const rest = g.findings.length - shown.length;
  return [
    `<section class="finding-group" id="code-${g.code}">`,
    `<h3><code class="code">${g.code}</code> × <span class="count">${g.findings.length}</span></h3>`,
    `<p class="meaning">${esc(g.meaning)}</p>`,
    '<table><thead><tr><th>where</th><th>detail</th></tr></thead><tbody>',
    ...shown.map(
      (f) =>
        `<tr class="finding"><td class="where">${esc(where(f))}</td><td class="detail">${esc(f.detail)}</td></tr>`,
    ),
    '</tbody></table>',
    rest > 0 ? `<p>${rest} more not listed here (auditlock verify --json lists them all).</p>` : '',
    '</section>',
  ].join('\n');
}

function where(f: ReportFinding): string {
  const parts = [
    f.from === 'replica' ? 'replica' : f.from === 'comparison' ? 'replica comparison' : '',
    f.log !== undefined ? `log ${f.log}` : '',
    f.seq !== undefined ? `segment ${f.seq}` : '',
    f.index !== undefined ? `entry ${f.index}` : '',
    f.key !== undefined ? f.key : '',
  ].filter(Boolean);
  return parts.join(', ') || 'store';
}

function keysSection(r: Report): string {
  const rows = r.keys.map(
    (k) =>
      `<tr${k.outsideWindow || k.invalid ? ' class="has-findings"' : ''}><td>${esc(k.label ?? '')}</td><td class="mono">${esc(k.name ?? '')}</td><td class="mono">${k.keyId}</td><td>${k.notBefore === undefined ? 'open' : esc(iso(k.notBefore))} .. ${k.notAfter === undefined ? 'open' : esc(iso(k.notAfter))}</td><td class="num">${k.signed}</td><td>${k.firstSealedAt === undefined ? '' : `${esc(iso(k.firstSealedAt))} .. ${esc(iso(k.lastSealedAt))}`}</td><td class="num">${k.outsideWindow}</td><td class="num">${k.invalid}</td></tr>`,
  );
  const unknown = r.unknownKeys.map(
    (u) =>
      `<li>key name <code>${esc(u.keyName)}</code>, key ID <code>${esc(u.keyId)}</code>: ${plural(u.lines, 'signature line')}</li>`,
  );
  return [
    '<h2 id="keys">Keys</h2>',
    '<table><thead><tr><th>trusted key</th><th>name</th><th>key ID</th><th>valid for seal times</th><th class="num">segments signed</th><th>signed from .. to</th><th class="num">outside window</th><th class="num">invalid</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    unknown.length
      ? `<p>Signature lines from keys not trusted:</p><ul>${unknown.join('')}</ul>`
      : '',
  ].join('\n');
}

function retentionSection(r: Report): string {
  const t = r.retention;
  if (t.withMetadata === 0)
    return `<h2 id="retention">Retention</h2>\n<p id="retention-none">The store reported no Object Lock metadata for its ${plural(t.withoutMetadata, 'segment')} (a folder store or bundle keeps none): retention was not checked.</p>`;
  const modes = Object.entries(t.modes)
    .map(([m, n]) => `${esc(m)}: ${n}`)
    .join(', ');
  return [
    '<h2 id="retention">Retention</h2>',
    '<dl>',
    `<dt>lock modes</dt><dd>${modes}${t.withoutMetadata ? `; no metadata: ${t.withoutMetadata}` : ''}</dd>`,
    `<dt>earliest retain-until</dt><dd id="retain-earliest">${esc(iso(t.earliest)) || 'none'}</dd>`,
    `<dt>latest retain-until</dt><dd id="retain-latest">${esc(iso(t.latest)) || 'none'}</dd>`,
    `<dt>legal holds</dt><dd>${t.legalHolds}</dd>`,
    '</dl>',
    '<p class="muted">Until the earliest retain-until, no segment version can be deleted, even by the account root (COMPLIANCE mode).</p>',
  ].join('\n');
}

function witnessSection(r: Report): string {
  if (!r.witness)
    return '<h2 id="witness">Witnesses</h2>\n<p>Not checked (no witness key given).</p>';
  const rows = r.witness.logs.flatMap((l) =>
    l.witnesses.map(
      (w) =>
        `<tr${w.newestSize === undefined ? ' class="has-findings"' : ''}><td><code>${esc(l.log)}</code></td><td class="mono">${esc(w.name)}</td><td class="num">${w.newestSize ?? 'none'}</td><td>${esc(iso(w.cosignedAt))}</td><td class="num">${l.treeSize}</td><td class="num">${l.quorumSize ?? 'none'}</td></tr>`,
    ),
  );
  return [
    '<h2 id="witness">Witnesses</h2>',
    `<p>A checkpoint counts when ${plural(r.witness.quorum, 'trusted witness', 'distinct trusted witnesses')} cosigned it.</p>`,
    '<table><thead><tr><th>log</th><th>witness</th><th class="num">newest size cosigned</th><th>cosigned at</th><th class="num">log tree size</th><th class="num">newest size with quorum</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ].join('\n');
}

function replicaSection(r: Report): string {
  if (!r.replica) return '<h2 id="replica">Replica</h2>\n<p>Not checked (no replica given).</p>';
  const x = r.replica;
  const rows = x.logs.map(
    (l) =>
      `<tr><td><code>${esc(l.log)}</code></td><td class="num">${l.segments}</td><td class="num">${l.agreedThrough ?? 'none'}</td><td class="num">${l.pending}</td><td class="num">${Math.round(l.maxLagMs / 1000)} s</td></tr>`,
  );
  return [
    '<h2 id="replica">Replica</h2>',
    `<p>Replica <code>${esc(x.location)}</code>: ${plural(x.findings, 'finding')} of its own, ${plural(x.comparisonFindings, 'comparison finding')}.</p>`,
    '<table><thead><tr><th>log</th><th class="num">segments compared</th><th class="num">agreed through segment</th><th class="num">pending</th><th class="num">oldest pending</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ].join('\n');
}
