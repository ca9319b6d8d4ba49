/**
 * The OCSF mapping against the vendored OCSF 1.1.0 schema (test/vectors/ocsf): every sample event
 * of examples/events.jsonl, and a quarantined entry, mapped and checked for the required
 * attributes and types of its class and objects; the link-back fields; the rules (user rules
 * first, defaults, the fallback, verbs); mapping files refused with their path; the checker
 * itself catching what it must.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/entry.js';
import { hasCode } from '../../src/core/errors.js';
import { parseEvent } from '../../src/core/event.js';
import { type ExportRecord, type OcsfRow, toOcsfRow } from '../../src/core/ocsf.js';
import { OCSF_CLASSES } from '../../src/core/ocsf-classes.js';
import {
  chooseClass,
  DEFAULT_OCSF_CONFIG,
  globMatch,
  parseOcsfConfig,
  verbActivity,
} from '../../src/core/ocsf-config.js';
import { partitionOf, partitionPath } from '../../src/core/ocsf-layout.js';
import { EVENTS_FILE } from '../helpers/cli.js';
import { checkOcsfEvent, classNumbers } from '../helpers/ocsf-schema.js';

const CLASS_FILES: Record<number, string> = {
  3001: 'events/iam/account_change.json',
  3002: 'events/iam/authentication.json',
  3004: 'events/iam/entity_management.json',
  6003: 'events/application/api.json',
  0: 'events/base_event.json',
};

const ctx = { config: DEFAULT_OCSF_CONFIG, productVersion: '0.1.0' };
const samples = readFileSync(EVENTS_FILE, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => parseEvent(JSON.parse(l)));

function record(entry: Entry, index: number): ExportRecord {
  return {
    log: 'main',
    index,
    seq: Math.floor(index / 500),
    key: `main/seg/${String(Math.floor(index / 500)).padStart(20, '0')}.seg`,
    versionId: 'v1',
    entry,
    leafHash: new Uint8Array(32).fill(index % 256),
    sealedAt: '2026-11-26T08:00:01.234Z',
    origin: 'audit.example.com/main',
  };
}

const quarantined: Entry = {
  kind: 'quarantine',
  receivedAt: '2026-11-26T08:00:00.500Z',
  delivery: { source: 'sqs', id: 'msg-1' },
  error: {
    code: 'EVENT_INVALID',
    message: 'invalid audit event: actor: expected object',
    issues: [{ path: 'actor', message: 'expected object' }],
  },
  raw: {
    encoding: 'utf8',
    data: '{"actor":1}',
    size: 11,
    truncated: false,
    sha256: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=',
  },
};

function checked(row: OcsfRow): string[] {
  const file = CLASS_FILES[row.class_uid];
  if (!file) return [`no class file for ${row.class_uid}`];
  const problems = checkOcsfEvent(row, file);
  const { classUid, categoryUid } = classNumbers(file);
  if (row.class_uid !== classUid) problems.push(`class_uid ${row.class_uid}, schema ${classUid}`);
  if (row.category_uid !== categoryUid)
    problems.push(`category_uid ${row.category_uid}, schema ${categoryUid}`);
  if (row.type_uid !== row.class_uid * 100 + (row.activity_id as number))
    problems.push(`type_uid ${row.type_uid} is not class_uid * 100 + activity_id`);
  return problems;
}

describe('OCSF rows of the sample events', () => {
  const rows = samples.map((event, i) =>
    toOcsfRow(record({ kind: 'event', receivedAt: '2026-11-26T08:00:00.000Z', event }, i), ctx),
  );

  it('every sample maps to a row that meets its class and objects in the OCSF 1.1.0 schema', () => {
    const failures = rows.flatMap((row, i) => checked(row).map((p) => `sample ${i + 1}: ${p}`));
    expect(failures.slice(0, 20)).toEqual([]);
  });

  it('the samples reach every class the rules choose', () => {
    const classes = new Set(rows.map((r) => r.class_uid));
    expect([...classes].sort()).toEqual([3001, 3002, 3004, 6003]);
  });

  it('each row links back to its proof', () => {
    for (const [i, row] of rows.entries()) {
      const meta = row.metadata as Record<string, unknown>;
      expect(meta.uid).toBe(samples[i]?.id);
      expect(meta.sequence).toBe(i);
      expect(meta.log_name).toBe('audit.example.com/main');
      expect(meta.logged_time).toBe(Date.parse('2026-11-26T08:00:01.234Z'));
      expect(row.unmapped['auditlock.log']).toBe('main');
      expect(row.unmapped['auditlock.index']).toBe(String(i));
      expect(row.unmapped['auditlock.leaf_hash']).toBe(
        (i % 256).toString(16).padStart(2, '0').repeat(32),
      );
      expect(row.unmapped['auditlock.segment.seq']).toBe(String(Math.floor(i / 500)));
      expect(row.unmapped['auditlock.segment.version_id']).toBe('v1');
    }
  });

  it('time is the event time in ms, with the zone offset; outcome is the status', () => {
    const event = parseEvent({
      time: '2026-11-26T09:16:35.123456+01:00',
      action: 'user.login',
      actor: { id: 'u1' },
      outcome: 'failure',
      reason: { code: 'BadPassword', message: 'wrong password' },
    });
    const row = toOcsfRow(
      record({ kind: 'event', receivedAt: '2026-11-26T08:16:36.000Z', event }, 3),
      ctx,
    );
    expect(row.time).toBe(Date.parse('2026-11-26T08:16:35.123Z'));
    expect(row.timezone_offset).toBe(60);
    expect(row).toMatchObject({
      class_uid: 3002,
      activity_id: 1,
      status_id: 2,
      status_code: 'BadPassword',
    });
    expect(row.status_detail).toBe('wrong password');
    expect(row.severity_id).toBe(2);
    expect(row.src_endpoint).toEqual({ name: 'unknown' });
    expect(checked(row)).toEqual([]);
  });
});

describe('quarantined entries', () => {
  const row = toOcsfRow(record(quarantined, 7), ctx);

  it('are Base Events labelled auditlock:quarantine that meet the schema', () => {
    expect(checked(row)).toEqual([]);
    expect(row).toMatchObject({
      class_uid: 0,
      activity_id: 99,
      type_uid: 99,
      severity_id: 3,
      status_id: 2,
    });
    expect((row.metadata as { labels: string[] }).labels).toEqual(['auditlock:quarantine']);
    expect(row.status_code).toBe('EVENT_INVALID');
    expect(row.unmapped['auditlock.kind']).toBe('quarantine');
    expect(row.unmapped['quarantine.raw.sha256']).toBe(
      quarantined.kind === 'quarantine' ? quarantined.raw.sha256 : '',
    );
    expect(row.time).toBe(Date.parse('2026-11-26T08:00:00.500Z'));
  });

  it('go to their own Security Lake source', () => {
    expect(partitionPath(partitionOf(row, DEFAULT_OCSF_CONFIG))).toBe(
      'auditlock-quarantine/region=unknown/accountId=unknown/eventDay=20261126',
    );
  });
});

describe('partitions', () => {
  it('take the region and account from the row when they have AWS form, else the configuration', () => {
    const config = parseOcsfConfig(
      JSON.stringify({ version: 1, cloud: { region: 'eu-west-1', accountId: '111122223333' } }),
      'm.json',
    );
    const row = (source: Record<string, string>, account: string) =>
      toOcsfRow(
        record(
          {
            kind: 'event',
            receivedAt: '2026-11-26T08:00:00.000Z',
            event: parseEvent({
              time: '2026-11-30T23:59:59Z',
              action: 's3:GetObject',
              actor: { id: 'a', account },
              outcome: 'success',
              source,
            }),
          },
          0,
        ),
        { ...ctx, config },
      );
    expect(partitionOf(row({ region: 'us-east-2' }, '123456789012'), config)).toEqual({
      source: 'auditlock-api-activity',
      region: 'us-east-2',
      accountId: '123456789012',
      eventDay: '20261130',
    });
    const hostile = partitionOf(row({ region: '../../etc' }, '../x'), config);
    expect([hostile.region, hostile.accountId]).toEqual(['eu-west-1', '111122223333']);
  });
});

describe('mapping rules', () => {
  const subject = (action: string, category?: string, resourceTypes: string[] = []) => ({
    action,
    category,
    resourceTypes,
  });

  it('user rules come first, then the defaults, then API Activity by verb', () => {
    const config = parseOcsfConfig(
      JSON.stringify({
        version: 1,
        rules: [
          {
            match: { action: ['acme.sso.*'] },
            class: 'authentication',
            activity: 'logon',
            severity: 'low',
          },
          { match: { action: ['iam:CreateUser'] }, class: 'api_activity', activity: 'create' },
          { match: { resourceType: ['vault:*'] }, class: 'entity_management', activity: 'auto' },
        ],
      }),
      'm.json',
    );
    expect(chooseClass(subject('acme.sso.start'), config)).toMatchObject({
      cls: 'authentication',
      activity: 'logon',
      severity: 'low',
      rule: '0',
    });
    expect(chooseClass(subject('iam:CreateUser'), config)).toMatchObject({
      cls: 'api_activity',
      rule: '1',
    });
    expect(chooseClass(subject('x.rotate', undefined, ['vault:secret']), config)).toMatchObject({
      cls: 'entity_management',
      rule: '2',
    });
    expect(chooseClass(subject('iam:CreateUser'), DEFAULT_OCSF_CONFIG)).toMatchObject({
      cls: 'account_change',
      activity: 'create',
    });
    expect(chooseClass(subject('mfa.check', 'authentication'), DEFAULT_OCSF_CONFIG)).toMatchObject({
      cls: 'authentication',
    });
    expect(chooseClass(subject('s3:GetObject'), DEFAULT_OCSF_CONFIG)).toMatchObject({
      cls: 'api_activity',
      activity: 'auto',
      rule: 'fallback',
    });
  });

  it('"defaults": false leaves only the user rules and the fallback', () => {
    const config = parseOcsfConfig('{"version":1,"defaults":false}', 'm.json');
    expect(chooseClass(subject('user.login'), config)).toMatchObject({
      cls: 'api_activity',
      rule: 'fallback',
    });
  });

  it('an Entity Management rule on an event without resources gives API Activity', () => {
    const event = parseEvent({
      time: '2026-11-26T08:00:00Z',
      action: 'iam:ListUsers',
      actor: { id: 'a' },
      outcome: 'success',
    });
    const row = toOcsfRow(
      record({ kind: 'event', receivedAt: '2026-11-26T08:00:00.000Z', event }, 0),
      ctx,
    );
    expect(row).toMatchObject({ class_uid: 6003, activity_id: 2 });
    expect(checked(row)).toEqual([]);
  });

  it('verbs', () => {
    expect(verbActivity('s3:PutObject')).toBe('create');
    expect(verbActivity('user.created')).toBe('create');
    expect(verbActivity('ec2:DescribeInstances')).toBe('read');
    expect(verbActivity('patient.record.update')).toBe('update');
    expect(verbActivity('db/tables/drop')).toBe('delete');
    expect(verbActivity('kms:ScheduleKeyDeletion')).toBe('other');
    expect(verbActivity('')).toBe('other');
  });

  it('glob patterns', () => {
    expect(globMatch('iam:*', 'iam:CreateUser')).toBe(true);
    expect(globMatch('*.login', 'user.login')).toBe(true);
    expect(globMatch('*.login', 'user.login2')).toBe(false);
    expect(globMatch('a*b*c', 'abc')).toBe(true);
    expect(globMatch('a*b*c', 'acb')).toBe(false);
    expect(globMatch('ab*ba', 'aba')).toBe(false);
    expect(globMatch('exact', 'exact')).toBe(true);
    expect(globMatch('exact', 'exactly')).toBe(false);
  });
});

describe('mapping files', () => {
  const refused = (text: string) => {
    try {
      parseOcsfConfig(text, 'mapping.json');
    } catch (err) {
      expect(hasCode(err, 'OCSF_MAPPING_INVALID')).toBe(true);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('are refused with the path of each problem', () => {
    expect(
      refused(
        '{"version":1,"rules":[{"match":{"action":["a"]},"class":"authentication","activity":"login"}]}',
      ),
    ).toContain('rules.0.activity');
    expect(
      refused('{"version":1,"rules":[{"match":{},"class":"api_activity","activity":"auto"}]}'),
    ).toContain('rules.0.match');
    expect(
      refused(
        '{"version":1,"rules":[{"match":{"action":["a"]},"class":"authentication","activity":"auto"}]}',
      ),
    ).toContain('rules.0.activity');
    expect(
      refused(
        '{"version":1,"rules":[{"match":{"action":["a"]},"class":"firewall","activity":"auto"}]}',
      ),
    ).toContain('rules.0.class');
    expect(refused('{"version":1,"cloud":{"accountId":"12"}}')).toContain('cloud.accountId');
    expect(refused('{"version":1,"extra":true}')).toContain('extra');
    expect(refused('{"version":2}')).toContain('version');
    expect(refused('{"version":1,"version":1}')).toBeTruthy();
    expect(refused('not json')).toBeTruthy();
    expect(refused(' '.repeat(1024 * 1024 + 1))).toBeTruthy();
  });

  it('every class name and activity of the table is accepted', () => {
    for (const [name, cls] of Object.entries(OCSF_CLASSES)) {
      if (name === 'base_event') continue;
      for (const activity of Object.keys(cls.activities))
        expect(() =>
          parseOcsfConfig(
            JSON.stringify({
              version: 1,
              rules: [{ match: { action: ['x'] }, class: name, activity }],
            }),
            'm.json',
          ),
        ).not.toThrow();
    }
  });
});

describe('the schema checker', () => {
  const good = toOcsfRow(
    record(
      { kind: 'event', receivedAt: '2026-11-26T08:00:00.000Z', event: samples[0] as never },
      0,
    ),
    ctx,
  );

  it('reports a missing required attribute, a wrong type, an unknown attribute and a bad enum', () => {
    const file = CLASS_FILES[good.class_uid] as string;
    const { severity_id: _, ...noSeverity } = good;
    expect(checkOcsfEvent(noSeverity, file)).toEqual(['severity_id: required, missing']);
    expect(checkOcsfEvent({ ...good, time: '2026' }, file).join()).toContain(
      'time: expected an integer',
    );
    expect(checkOcsfEvent({ ...good, bogus: 1 }, file)).toEqual(['bogus: not an attribute here']);
    expect(checkOcsfEvent({ ...good, status_id: 7 }, file).join()).toContain('status_id');
    expect(checkOcsfEvent({ ...good, src_endpoint: { ip: 'not-an-ip' } }, file).join()).toContain(
      'src_endpoint.ip',
    );
    expect(checkOcsfEvent({ ...good, metadata: { version: '1.1.0' } }, file).join()).toContain(
      'metadata.product: required',
    );
    expect(checkOcsfEvent({ ...good, actor: {} }, file).join()).toContain(
      'actor.: needs at least one of',
    );
  });
});
