/**
 * Event filters, time bounds and the JSON Lines / CSV formats of `auditlock events`.
 */
import { describe, expect, it } from 'vitest';
import { type Entry, makeEventEntry, makeQuarantineEntry } from '../../src/core/entry.js';
import { InputError } from '../../src/core/errors.js';
import { parseEvent } from '../../src/core/event.js';
import {
  boundsInMs,
  byteNeedles,
  CSV_COLUMNS,
  csvCell,
  type EventFilter,
  type EventHit,
  formatCsvHeader,
  formatCsvRow,
  formatHitJson,
  matchesEntry,
  parseInstant,
} from '../../src/core/event-filter.js';
import { parseTimestamp } from '../../src/core/timestamp.js';
import { sampleEvent } from '../helpers/log-fixture.js';

const AT = Date.UTC(2026, 10, 26, 8, 0, 0);

const event = sampleEvent(3, {
  actor: { id: 'alice', type: 'user' },
  action: 'iam:CreateUser',
  outcome: 'failure',
  resources: [
    { type: 'aws:iam:user', id: 'arn:aws:iam::123456789012:user/bob' },
    { type: 'aws:iam:group', id: 'admins' },
  ],
  time: '2026-11-26T09:00:00.123456789+01:00',
});
const entry: Entry = makeEventEntry(event, AT, { source: 'cli', id: 'stdin:4' });
const quarantined = makeQuarantineEntry(
  new TextEncoder().encode('{"actor":'),
  new InputError('JSON_INVALID', 'line 5: not JSON'),
  AT,
);

const match = (f: EventFilter, e: Entry = entry) => matchesEntry(e, AT, f);

describe('matchesEntry', () => {
  it('matches everything with no filter, and quarantined input only when asked', () => {
    expect(match({})).toBe(true);
    expect(match({}, quarantined)).toBe(false);
    expect(match({ includeQuarantined: true }, quarantined)).toBe(true);
  });

  it('actor: actor.id exactly, case-sensitive; any of several values', () => {
    expect(match({ actors: ['alice'] })).toBe(true);
    expect(match({ actors: ['Alice'] })).toBe(false);
    expect(match({ actors: ['ali'] })).toBe(false);
    expect(match({ actors: ['carol', 'alice'] })).toBe(true);
  });

  it('action and outcome', () => {
    expect(match({ actions: ['iam:CreateUser'] })).toBe(true);
    expect(match({ actions: ['iam:DeleteUser'] })).toBe(false);
    expect(match({ outcomes: ['failure'] })).toBe(true);
    expect(match({ outcomes: ['success', 'unknown'] })).toBe(false);
  });

  it('resource: the id or the type of any resource', () => {
    expect(match({ resources: ['admins'] })).toBe(true);
    expect(match({ resources: ['aws:iam:user'] })).toBe(true);
    expect(match({ resources: ['arn:aws:iam::123456789012:user/bob'] })).toBe(true);
    expect(match({ resources: ['arn:aws:iam::123456789012:user'] })).toBe(false);
    const none = makeEventEntry(parseEvent({ ...event, resources: undefined }), AT);
    expect(match({ resources: ['admins'] }, none)).toBe(false);
  });

  it('combinations: every filter given must match', () => {
    expect(match({ actors: ['alice'], actions: ['iam:CreateUser'], outcomes: ['failure'] })).toBe(
      true,
    );
    expect(match({ actors: ['alice'], actions: ['iam:CreateUser'], outcomes: ['success'] })).toBe(
      false,
    );
    expect(match({ actors: ['bob'], resources: ['admins'] })).toBe(false);
  });

  it('received bounds: from inclusive, to exclusive, to the millisecond', () => {
    const at = (text: string) => parseInstant(text);
    expect(match({ received: { from: at('2026-11-26T08:00:00Z') } })).toBe(true);
    expect(match({ received: { from: at('2026-11-26T08:00:00.000000001Z') } })).toBe(false);
    expect(match({ received: { to: at('2026-11-26T08:00:00Z') } })).toBe(false);
    expect(match({ received: { to: at('2026-11-26T08:00:00.000000001Z') } })).toBe(true);
    expect(match({ received: { from: at('2026-11-26T09:00:00+01:00') } })).toBe(true);
  });

  it('quarantined input obeys the received bounds but no field filter', () => {
    const f = { includeQuarantined: true, actors: ['nobody'], outcomes: ['success' as const] };
    expect(match(f, quarantined)).toBe(true);
    expect(
      match({ ...f, received: { to: parseInstant('2026-11-26T08:00:00Z') } }, quarantined),
    ).toBe(false);
    // Field filters still apply to events when quarantined input is included.
    expect(match(f)).toBe(false);
  });

  it('event-time bounds compare instants with offsets and all nine fraction digits', () => {
    // event.time is 2026-11-26T08:00:00.123456789Z.
    const b = (from?: string, to?: string) => ({
      eventTime: {
        from: from ? parseInstant(from) : undefined,
        to: to ? parseInstant(to) : undefined,
      },
    });
    expect(match(b('2026-11-26T08:00:00.123456789Z'))).toBe(true);
    expect(match(b('2026-11-26T08:00:00.12345679Z'))).toBe(false);
    expect(match(b(undefined, '2026-11-26T08:00:00.123456789Z'))).toBe(false);
    expect(match(b(undefined, '2026-11-26T03:00:00.12345679-05:00'))).toBe(true);
  });
});

describe('parseInstant and boundsInMs', () => {
  it('reads RFC 3339 with a zone and refuses anything else with TIME_INVALID', () => {
    expect(parseInstant('2026-11-26T08:00:00.5+01:00')).toEqual({
      ms: Date.UTC(2026, 10, 26, 7, 0, 0, 500),
      ns: 0,
    });
    expect(parseInstant('2026-11-26T08:00:00.000001Z')).toEqual({
      ms: parseTimestamp('2026-11-26T08:00:00.000Z'),
      ns: 1000,
    });
    for (const bad of ['2026-11-26T08:00:00', '2026-11-26', '2026-02-30T00:00:00Z', 'yesterday'])
      expect(() => parseInstant(bad)).toThrow(expect.objectContaining({ code: 'TIME_INVALID' }));
  });

  it('rounds both ends up to whole milliseconds', () => {
    expect(
      boundsInMs({
        from: parseInstant('2026-11-26T08:00:00.0001Z'),
        to: parseInstant('2026-11-26T08:00:01Z'),
      }),
    ).toEqual({ fromMs: AT + 1, toMs: AT + 1000 });
    expect(boundsInMs(undefined)).toEqual({ fromMs: undefined, toMs: undefined });
  });
});

describe('byteNeedles', () => {
  it('are the JSON strings of the field filters, none with quarantined input', () => {
    expect(byteNeedles({ actors: ['a"b'], actions: ['x'], outcomes: ['success'] })).toEqual([
      ['"a\\"b"'],
      ['"x"'],
    ]);
    expect(byteNeedles({ outcomes: ['success'] })).toBeUndefined();
    expect(byteNeedles({ actors: ['a'], includeQuarantined: true })).toBeUndefined();
  });
});

const hit = (e: Entry = entry, extra: Partial<EventHit> = {}): EventHit => ({
  log: 'main',
  index: 41,
  seq: 7,
  key: 'main/seg/00000000000000000007.seg',
  entry: e,
  ...extra,
});

describe('formatHitJson', () => {
  it('is the entry with its log, index and segment', () => {
    const record = JSON.parse(formatHitJson(hit(entry, { versionId: 'v1' })));
    expect(record).toEqual({
      log: 'main',
      index: 41,
      segment: { seq: 7, key: 'main/seg/00000000000000000007.seg', versionId: 'v1' },
      ...JSON.parse(JSON.stringify(entry)),
    });
    expect(Object.keys(record).slice(0, 4)).toEqual(['log', 'index', 'segment', 'kind']);
  });

  it('escapes C1, bidirectional and line-separator characters, keeping the value', () => {
    // (DEL and C0 controls are refused by the event schema itself; these it admits.)
    const sneaky = 'a\u009b31mb\u202ec\u2028d';
    const e = makeEventEntry(parseEvent({ ...event, actor: { id: sneaky } }), AT);
    const line = formatHitJson(hit(e));
    expect(line).toContain('a\\u009b31mb\\u202ec\\u2028d');
    expect(line).toMatch(/^[\x20-\x7e\u00a0-\u2027\u2030-\uffff]*$/u);
    expect(JSON.parse(line).event.actor.id).toBe(sneaky);
  });
});

/** A minimal RFC 4180 reader, to check the writer against the grammar rather than itself. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const row: string[] = [];
    for (;;) {
      expect(text[i]).toBe('"');
      let cell = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        cell += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') {
          cell += '"';
          i++;
        } else break;
      }
      row.push(cell);
      if (text[i] === ',') i++;
      else break;
    }
    expect(text.slice(i, i + 2)).toBe('\r\n');
    i += 2;
    rows.push(row);
  }
  return rows;
}

describe('CSV', () => {
  it('a fixed header, then one row per hit in the header order', () => {
    const [header, row] = parseCsv(formatCsvHeader() + formatCsvRow(hit()));
    expect(header).toEqual([...CSV_COLUMNS]);
    const cell = (c: string) => row?.[CSV_COLUMNS.indexOf(c as (typeof CSV_COLUMNS)[number])];
    expect(cell('time')).toBe('2026-11-26T09:00:00.123456789+01:00');
    expect(cell('receivedAt')).toBe('2026-11-26T08:00:00.000Z');
    expect(cell('index')).toBe('41');
    expect(cell('seq')).toBe('7');
    expect(cell('actor.id')).toBe('alice');
    expect(cell('actor.name')).toBe('');
    expect(cell('outcome')).toBe('failure');
    expect(JSON.parse(cell('resources') as string)).toEqual(event.resources);
    expect(cell('source.ip')).toBe('203.0.113.7');
    expect(cell('delivery.id')).toBe('stdin:4');
    expect(row).toHaveLength(CSV_COLUMNS.length);
  });

  it('a quarantined row has its kind and rejection, no event columns', () => {
    const [row] = parseCsv(formatCsvRow(hit(quarantined)));
    const cell = (c: string) => row?.[CSV_COLUMNS.indexOf(c as (typeof CSV_COLUMNS)[number])];
    expect(cell('kind')).toBe('quarantine');
    expect(cell('quarantine.code')).toBe('JSON_INVALID');
    expect(cell('actor.id')).toBe('');
    expect(cell('time')).toBe('');
  });

  it('RFC 4180: every cell quoted, quotes doubled, separators and line breaks kept inside', () => {
    expect(csvCell('plain')).toBe('"plain"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('a,b\r\nc\nd')).toBe('"a,b\r\nc\nd"');
    expect(csvCell('')).toBe('""');
    const text = 'x,"y"\r\n,z';
    expect(parseCsv(`${csvCell(text)},${csvCell('w')}\r\n`)).toEqual([[text, 'w']]);
  });

  it('formula injection: cells starting with = + - @ TAB CR get a leading quote (OWASP)', () => {
    for (const payload of ['=1+1', '+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1'])
      expect(csvCell(payload)).toBe(`"'${payload}"`);
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    // Only the first character counts.
    expect(csvCell('a=1')).toBe('"a=1"');
    expect(csvCell("'quoted")).toBe(`"'quoted"`);
    // In a row: an actor id that is a formula, and a reason message with a line break.
    const e = makeEventEntry(
      parseEvent({
        ...event,
        actor: { id: '=cmd|"/c calc"!A0' },
        reason: { message: 'line one\n-line two' },
      }),
      AT,
    );
    const [row] = parseCsv(formatCsvRow(hit(e)));
    expect(row?.[CSV_COLUMNS.indexOf('actor.id')]).toBe(`'=cmd|"/c calc"!A0`);
    expect(row?.[CSV_COLUMNS.indexOf('reason.message')]).toBe('line one\n-line two');
  });

  it('a display function applies before quoting and guarding', () => {
    const shown = csvCell('a\u009bb', (s) => s.replace('\u009b', '\\x9b'));
    expect(shown).toBe('"a\\x9bb"');
    expect(csvCell('x', () => '=evil')).toBe(`"'=evil"`);
  });
});
