#!/usr/bin/env node
/**
 * Writes examples/events.jsonl (5,000 realistic audit events, each valid) and
 * examples/bad-events.jsonl (one line per kind of mistake). Deterministic: a seeded PRNG, a fixed
 * start time, no dependencies, so re-running gives byte-identical files.
 *
 *   node scripts/gen-sample-events.mjs [outDir]   (default: examples)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const COUNT = 5000;
const START_MS = Date.UTC(2026, 10, 1, 0, 0, 0); // 2026-11-01T00:00:00Z
const outDir = process.argv[2] ?? 'examples';

// mulberry32: tiny, well-distributed 32-bit PRNG; enough for sample data.
let state = 0x5eed2026;
function random() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (items) => items[Math.floor(random() * items.length)];
const chance = (p) => random() < p;
const hex = (n) => Array.from({ length: n }, () => int(0, 15).toString(16)).join('');
const uuid = () =>
  `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
const digits = (n) => Array.from({ length: n }, () => int(0, 9)).join('');

const ACCOUNTS = ['123456789012', '210987654321', '555500001111'];
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-northeast-1'];

const HUMANS = [
  ['zoe.angstrom@example.com', 'Zoë Ångström'],
  ['lukasz.wisniewski@example.com', 'Łukasz Wiśniewski'],
  ['yamada.taro@example.jp', '山田太郎'],
  ['jose.alvarez@example.com', 'José Álvarez'],
  ['siobhan.oconnor@example.ie', "Siobhán O'Connor"],
  ['ngozi.okonkwo@example.com', 'Ngozi Okonkwo'],
  ['anna.petrova@example.com', 'Анна Петрова'],
  ['kim.minjun@example.kr', '김민준'],
  ['ahmed.alfarsi@example.com', 'أحمد الفارسي'],
  ['dang.thao@example.vn', 'Đặng Thu Thảo'],
  ['francois.dubois@example.fr', 'François Dubois'],
  ['mia.mueller@example.de', 'Mia Müller'],
];
const ROLES = ['Admin', 'ReadOnly', 'BreakGlass', 'DataEngineer', 'ComplianceAuditor', 'Deployer'];
const SERVICES = ['payments-api', 'ehr-sync', 'trade-engine', 'billing-worker', 'reporting-etl'];
const BOTS = [
  ['ci:github-actions', 'github-actions[bot]'],
  ['ci:jenkins-deployer', 'jenkins-deployer'],
  ['ci:renovate', 'renovate[bot]'],
];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'aws-cli/2.22.4 Python/3.12.6 Linux/6.1.112 exe/x86_64.amzn.2023',
  'Boto3/1.35.70 md/Botocore#1.35.70 ua/2.0 os/linux#6.1 lang/python#3.12.7',
  'aws-sdk-js/3.700.0 ua/2.1 os/linux#5.10 lang/js md/nodejs#20.18.1',
  'Terraform/1.10.0 (+https://www.terraform.io) terraform-provider-aws/5.80.0',
  'curl/8.11.0',
  'okhttp/4.12.0',
];

function actor() {
  const r = random();
  if (r < 0.55) {
    const [id, name] = pick(HUMANS);
    return { id, type: 'user', name, account: pick(ACCOUNTS), sessionId: `sess-${hex(16)}` };
  }
  if (r < 0.75) {
    const role = pick(ROLES);
    const [email] = pick(HUMANS);
    const account = pick(ACCOUNTS);
    return {
      id: `arn:aws:sts::${account}:assumed-role/${role}/${email}`,
      type: 'role',
      name: role,
      account,
      sessionId: `ASIA${hex(16).toUpperCase()}`,
    };
  }
  if (r < 0.88) {
    const name = pick(SERVICES);
    return { id: `svc:${name}`, type: 'service', name, account: pick(ACCOUNTS) };
  }
  if (r < 0.96) {
    const [id, name] = pick(BOTS);
    return { id, type: 'service', name };
  }
  if (r < 0.985)
    return { id: pick(['system:cron', 'system:key-rotation', 'system:backup']), type: 'system' };
  return { id: 'anonymous', type: 'anonymous' };
}

function source() {
  const s = {};
  const r = random();
  if (r < 0.6) s.ip = `${pick(['192.0.2', '198.51.100', '203.0.113'])}.${int(1, 254)}`;
  else if (r < 0.75) s.ip = `10.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
  else if (r < 0.95)
    s.ip = `2001:db8:${int(0, 0xffff).toString(16)}::${int(1, 0xffff).toString(16)}`;
  else s.ip = `::ffff:203.0.113.${int(1, 254)}`;
  if (chance(0.9)) s.userAgent = pick(USER_AGENTS);
  if (chance(0.3)) s.host = `ip-10-0-${int(0, 9)}-${int(1, 254)}.ec2.internal`;
  if (chance(0.7)) s.region = pick(REGIONS);
  return s;
}

function filler(n) {
  // Config-like key/value pairs, for the occasional large detail (policy docs, diffs, exports).
  const out = {};
  for (let i = 0; i < n; i++) {
    out[`setting_${String(i).padStart(4, '0')}`] = pick([
      int(0, 100000),
      chance(0.5),
      `value-${hex(int(8, 40))}`,
      { enabled: chance(0.5), threshold: int(1, 100), tags: [hex(6), hex(6)] },
    ]);
  }
  return out;
}

function policyDocument(statements) {
  return {
    Version: '2012-10-17',
    Statement: Array.from({ length: statements }, (_, i) => ({
      Sid: `Stmt${i}`,
      Effect: chance(0.9) ? 'Allow' : 'Deny',
      Action: Array.from({ length: int(1, 6) }, () =>
        pick(['s3:GetObject', 's3:PutObject', 'kms:Decrypt', 'dynamodb:Query', 'sqs:SendMessage']),
      ),
      Resource: `arn:aws:s3:::bucket-${hex(6)}/*`,
      Condition: chance(0.4) ? { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] } } : undefined,
    })),
  };
}

const DOMAINS = [
  // [weight, make(account) -> partial event]
  [
    20,
    (acct) => {
      const action = pick([
        'iam:CreateUser',
        'iam:DeleteUser',
        'iam:AttachRolePolicy',
        'iam:CreateAccessKey',
        'iam:PutRolePolicy',
        'iam:UpdateAssumeRolePolicy',
      ]);
      const user = pick(['deploy-bot', 'analyst-7', 'contractor-x', 'svc-backup']);
      const big = action === 'iam:PutRolePolicy' && chance(0.15);
      return {
        action,
        category: 'iam',
        resources: [
          {
            type: 'aws:iam:user',
            id: `arn:aws:iam::${acct}:user/${user}`,
            name: user,
            account: acct,
          },
        ],
        source: { service: 'iam.amazonaws.com' },
        detail: big
          ? { policyName: `inline-${hex(6)}`, policyDocument: policyDocument(int(20, 260)) }
          : {
              requestParameters: { userName: user, path: '/' },
              responseElements: { userId: `AIDA${hex(16).toUpperCase()}` },
            },
      };
    },
  ],
  [
    22,
    (acct) => {
      const action = pick([
        's3:GetObject',
        's3:GetObject',
        's3:PutObject',
        's3:DeleteObject',
        's3:PutBucketPolicy',
        's3:PutBucketVersioning',
      ]);
      const bucket = pick(['prod-statements', 'phi-archive', 'trade-blotter', 'static-assets']);
      const key = `${pick(['2026/11', 'exports', 'uploads/ümlaut', 'reports'])}/${hex(10)}.${pick(['pdf', 'csv', 'json', 'parquet'])}`;
      return {
        action,
        category: 'data-access',
        resources: [
          {
            type: 'aws:s3:object',
            id: `arn:aws:s3:::${bucket}/${key}`,
            account: acct,
            region: pick(REGIONS),
          },
        ],
        source: { service: 's3.amazonaws.com' },
        detail: {
          bucketName: bucket,
          key,
          bytesTransferredOut: int(0, 5_000_000),
          tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256' },
          additionalEventData: {
            SignatureVersion: 'SigV4',
            AuthenticationMethod: 'AuthHeader',
            'x-amz-id-2': hex(48),
          },
        },
      };
    },
  ],
  [
    12,
    () => {
      const action = pick(['db.query', 'db.query', 'db.schema.alter', 'db.grant', 'db.export']);
      const table = pick([
        'public.accounts',
        'public.ledger_entries',
        'clinical.encounters',
        'trading.orders',
      ]);
      const detail = {
        database: 'prod-db',
        statementType: action === 'db.query' ? 'SELECT' : action === 'db.grant' ? 'GRANT' : 'ALTER',
        rowsAffected: int(0, 20000),
        durationMs: int(1, 9000),
      };
      if (action === 'db.export' && chance(0.25))
        detail.columns = Array.from({ length: int(50, 400) }, (_, i) => ({
          name: `col_${i}`,
          type: pick(['text', 'int8', 'numeric(18,2)', 'timestamptz']),
          masked: chance(0.2),
        }));
      return {
        action,
        category: 'database',
        resources: [{ type: 'postgres:table', id: `prod-db/${table}`, name: table }],
        source: { service: 'rds' },
        detail,
      };
    },
  ],
  [
    18,
    () => {
      const action = pick([
        'user.login',
        'user.login',
        'user.logout',
        'user.mfa.challenge',
        'user.mfa.enroll',
        'user.password.reset',
      ]);
      return {
        action,
        category: 'authentication',
        source: { service: 'sso' },
        detail: {
          method: pick(['password', 'saml', 'oidc', 'webauthn']),
          mfa: pick(['totp', 'webauthn', 'push', 'none']),
          riskScore: int(0, 100),
          geo: {
            country: pick(['DE', 'JP', 'US', 'PL', 'SE', 'NG', 'BR']),
            city: pick(['München', 'Tōkyō', 'Kraków', 'São Paulo', 'Lagos', 'Göteborg']),
          },
        },
      };
    },
  ],
  [
    10,
    () => {
      const action = pick([
        'card.pan.view',
        'card.tokenize',
        'payment.refund',
        'payment.capture',
        'card.export',
      ]);
      const bin = pick(['411111', '550000', '340000', '601100']);
      return {
        action,
        category: 'pci.cardholder-data',
        resources: [{ type: 'pci:card', id: `tok_${hex(24)}`, name: `${bin}******${digits(4)}` }],
        source: { service: 'payments-api' },
        detail: {
          maskedPan: `${bin}******${digits(4)}`,
          amount: { value: int(100, 999999) / 100, currency: pick(['EUR', 'USD', 'JPY', 'GBP']) },
          merchantId: `M-${digits(8)}`,
          justification: pick([
            'chargeback investigation',
            `customer request #${digits(6)}`,
            'fraud review',
          ]),
        },
      };
    },
  ],
  [
    8,
    () => {
      const action = pick([
        'patient.record.view',
        'patient.record.view',
        'patient.record.update',
        'patient.record.export',
        'prescription.create',
      ]);
      const detail = {
        purposeOfUse: pick(['TREATMENT', 'PAYMENT', 'OPERATIONS', 'EMERGENCY']),
        breakGlass: chance(0.05),
        facility: pick(['St. Mary’s Hospital', 'Klinikum Nord', '東京総合病院']),
        fieldsAccessed: ['demographics', 'allergies', 'medications'].slice(0, int(1, 3)),
      };
      if (action === 'patient.record.export' && chance(0.3))
        detail.encounters = Array.from({ length: int(40, 250) }, () => ({
          id: `Encounter/${digits(7)}`,
          date: `2026-${String(int(1, 10)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}`,
          code: pick(['I10', 'E11.9', 'J45.909', 'Z00.00']),
        }));
      return {
        action,
        category: 'hipaa.phi-access',
        resources: [{ type: 'fhir:Patient', id: `Patient/${digits(7)}` }],
        source: { service: 'ehr' },
        detail,
      };
    },
  ],
  [
    5,
    () => {
      const action = pick([
        'trade.approve',
        'trade.approve',
        'trade.reject',
        'order.cancel',
        'communication.supervise',
      ]);
      return {
        action,
        category: 'sec.trading',
        resources: [{ type: 'trade', id: `TRD-2026-${digits(8)}` }],
        source: { service: 'trade-engine' },
        detail: {
          symbol: pick(['AAPL', 'MSFT', '7203.T', 'SAP.DE', 'BRK.B']),
          side: pick(['BUY', 'SELL']),
          quantity: int(1, 100000),
          limitPrice: int(100, 90000) / 100,
          approverLevel: int(1, 3),
          fourEyes: true,
        },
      };
    },
  ],
  [
    5,
    (acct) => {
      const action = pick([
        'config.update',
        'feature_flag.toggle',
        'kms:ScheduleKeyDeletion',
        'cloudtrail:StopLogging',
        'ec2:AuthorizeSecurityGroupIngress',
      ]);
      const large = action === 'config.update' && chance(0.25);
      return {
        action,
        category: 'configuration',
        resources: [
          {
            type: 'config',
            id: `arn:aws:appconfig:${pick(REGIONS)}:${acct}:application/${hex(7)}`,
            region: pick(REGIONS),
          },
        ],
        detail: large
          ? { before: filler(int(10, 180)), after: filler(int(10, 180)) }
          : {
              key: `flags.${hex(5)}`,
              before: chance(0.5),
              after: chance(0.5),
              ticket: `CHG-${digits(6)}`,
            },
      };
    },
  ],
];
const TOTAL_WEIGHT = DOMAINS.reduce((n, [w]) => n + w, 0);

function domain() {
  let r = random() * TOTAL_WEIGHT;
  for (const [w, make] of DOMAINS) {
    r -= w;
    if (r < 0) return make;
  }
  return DOMAINS[0][1];
}

const FAILURES = [
  {
    code: 'AccessDenied',
    message: 'User is not authorized to perform this action on the resource',
  },
  { code: 'InvalidMFA', message: 'MFA code did not match' },
  { code: 'ThrottlingException', message: 'Rate exceeded' },
  { code: 'ValidationError' },
  { message: 'Session expired; re-authentication required' },
];

/** Formats `ms` the way varied producers do: ms or µs fractions, whole seconds, or a local offset. */
function eventTime(ms) {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const r = random();
  if (r < 0.55) return iso;
  if (r < 0.75) return `${iso.slice(0, 19)}Z`;
  if (r < 0.88) return `${iso.slice(0, 23)}${digits(3)}Z`;
  const [sign, hh, mm] = pick([
    ['+', 1, 0],
    ['-', 5, 0],
    ['+', 9, 0],
    ['+', 5, 30],
  ]);
  const shift = (sign === '+' ? 1 : -1) * (hh * 60 + mm) * 60_000;
  const local = new Date(ms + shift).toISOString().slice(0, 23);
  return `${local}${sign}${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}`;
}

const events = [];
const ids = new Set();
let now = START_MS;
let correlation;
for (let i = 0; i < COUNT; i++) {
  now += int(50, 900_000);
  const acct = pick(ACCOUNTS);
  const body = domain()(acct);
  let id = uuid();
  while (ids.has(id)) id = uuid();
  ids.add(id);
  if (!correlation || chance(0.4)) correlation = `req-${hex(20)}`;
  const r = random();
  const outcome = r < 0.08 ? 'failure' : r < 0.09 ? 'unknown' : 'success';
  const event = {
    id,
    time: eventTime(now),
    action: body.action,
    category: body.category,
    actor: actor(),
    resources: body.resources,
    outcome,
    reason: outcome === 'failure' ? pick(FAILURES) : undefined,
    source: { ...source(), ...body.source },
    correlationId: chance(0.7) ? correlation : undefined,
    detail: body.detail,
  };
  events.push(JSON.stringify(event));
}

const BAD = [
  // invalid JSON (cut off mid-object)
  '{"id":"bad-1","time":"2026-11-26T08:16:35Z","action":"user.login","actor":{"id":"zoe"',
  // missing actor.id
  JSON.stringify({
    id: 'bad-2',
    time: '2026-11-26T08:16:35Z',
    action: 'user.login',
    actor: { type: 'user', name: 'Zoë Ångström' },
    outcome: 'success',
  }),
  // unknown field (CloudTrail's eventName instead of action)
  JSON.stringify({
    id: 'bad-3',
    time: '2026-11-26T08:16:35Z',
    action: 'iam:CreateUser',
    eventName: 'CreateUser',
    actor: { id: 'zoe' },
    outcome: 'success',
  }),
  // bad outcome
  JSON.stringify({
    id: 'bad-4',
    time: '2026-11-26T08:16:35Z',
    action: 'user.login',
    actor: { id: 'zoe' },
    outcome: 'ok',
  }),
  // detail over 64 KiB
  JSON.stringify({
    id: 'bad-5',
    time: '2026-11-26T08:16:35Z',
    action: 'db.export',
    actor: { id: 'zoe' },
    outcome: 'success',
    detail: { rows: 'x'.repeat(70_000) },
  }),
  // not an object
  JSON.stringify(['user.login', 'zoe', '2026-11-26T08:16:35Z']),
  // bad time: no time zone
  JSON.stringify({
    id: 'bad-7',
    time: '2026-11-26 08:16:35',
    action: 'user.login',
    actor: { id: 'zoe' },
    outcome: 'success',
  }),
  // bad IP
  JSON.stringify({
    id: 'bad-8',
    time: '2026-11-26T08:16:35Z',
    action: 'user.login',
    actor: { id: 'zoe' },
    outcome: 'success',
    source: { ip: '256.1.2.3' },
  }),
];

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'events.jsonl'), `${events.join('\n')}\n`);
writeFileSync(join(outDir, 'bad-events.jsonl'), `${BAD.join('\n')}\n`);
const bytes = events.reduce((n, line) => n + Buffer.byteLength(line), 0);
console.log(
  `wrote ${events.length} events (${bytes} bytes, average ${Math.round(bytes / events.length)}) and ${BAD.length} bad lines to ${outDir}`,
);
