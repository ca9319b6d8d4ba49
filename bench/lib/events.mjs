/**
 * Benchmark input: ~1 KB audit events as JSON Lines text, built from the real sample file
 * `examples/events.jsonl` (5,000 events from scripts/gen-sample-events.mjs).
 *
 * - Events longer than 2 KB (about 2% of the sample: large `detail` blobs, up to 44 KB) are
 *   dropped, so one outlier cannot dominate a run; the rest average ~736 bytes.
 * - Each event gets `detail.annotation`, words taken from the sample's own text (names, ARNs,
 *   user agents, some non-ASCII), sized so the events average ~1 KB of UTF-8 while keeping the
 *   sample's spread of sizes and shapes.
 * - The sample is repeated as often as needed; each copy gets a unique `id` of the same length
 *   (the last 8 hex digits of the UUID become the copy's index).
 *
 * Lines keep the producer's key order (not canonical), as a real producer would send them.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SAMPLE = fileURLToPath(new URL('../../examples/events.jsonl', import.meta.url));
const MAX_LINE_BYTES = 2048;
const TARGET_MEAN_BYTES = 1024;

/** The filtered, padded sample events (objects), in file order. Deterministic. */
export function sampleEvents() {
  const lines = readFileSync(SAMPLE, 'utf8').split('\n').filter(Boolean);
  const kept = lines
    .filter((l) => Buffer.byteLength(l) <= MAX_LINE_BYTES)
    .map((l) => JSON.parse(l));
  const words = [
    ...new Set(kept.flatMap((e) => textOf(e).split(/\s+/)).filter((w) => w.length > 2)),
  ];
  const mean = kept.reduce((s, e) => s + Buffer.byteLength(JSON.stringify(e)), 0) / kept.length;
  // `,"annotation":""` is 16 bytes; the words fill the rest of the gap to the target mean.
  const pad = Math.max(0, Math.round(TARGET_MEAN_BYTES - mean) - 16);
  let w = 0;
  for (const e of kept) {
    let note = '';
    while (Buffer.byteLength(note) < pad) note += `${note ? ' ' : ''}${words[w++ % words.length]}`;
    // Trim by code point, so no surrogate pair is cut in half.
    while (Buffer.byteLength(note) > pad) note = Array.from(note).slice(0, -1).join('');
    note = note.trimEnd();
    e.detail = { ...e.detail, annotation: note };
  }
  return kept;
}

/**
 * Event line `i` of an endless stream: sample event `i mod n` with a unique id of the same length
 * (the UUID's last 8 hex digits become `i`). Lines keep the producer's key order.
 * @returns `lineAt(i)`, and `meanBytes`, the mean UTF-8 size of a line.
 */
export function eventStream() {
  const base = sampleEvents();
  const meanBytes =
    base.reduce((s, e) => s + Buffer.byteLength(JSON.stringify(e)), 0) / base.length;
  const lineAt = (i) => {
    const e = base[i % base.length];
    return JSON.stringify({
      ...e,
      id: `${e.id.slice(0, -8)}${(i >>> 0).toString(16).padStart(8, '0')}`,
    });
  };
  return { lineAt, meanBytes };
}

/**
 * The first `count` lines of {@link eventStream}, in memory.
 * @returns the lines and their total UTF-8 size in bytes (newlines not counted).
 */
export function makeEventLines(count) {
  const { lineAt } = eventStream();
  const lines = new Array(count);
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    lines[i] = lineAt(i);
    bytes += Buffer.byteLength(lines[i]);
  }
  return { lines, bytes };
}

function textOf(value) {
  if (typeof value === 'string') return `${value} `;
  if (value === null || typeof value !== 'object') return '';
  return Object.values(value).map(textOf).join('');
}
