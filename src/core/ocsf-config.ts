/**
 * Which OCSF class and activity an audit event is exported as (docs/OCSF.md §2–3): an ordered
 * list of rules, the first that matches wins. The user's rules (a JSON file, `--mapping`) are
 * tried before the documented defaults ({@link DEFAULT_RULES}), which they may switch off with
 * `"defaults": false`; an event no rule matches is API Activity with its activity read from the
 * action's verb (`"activity": "auto"`). Pure: the caller reads the file.
 *
 *     { "version": 1,
 *       "rules": [ { "match": { "action": ["acme.sso.*"], "category": ["auth"] },
 *                    "class": "authentication", "activity": "logon", "severity": "low" } ],
 *       "defaults": true,
 *       "cloud": { "provider": "AWS", "region": "eu-west-1", "accountId": "123456789012" } }
 *
 * A rule matches an event when every `match` member given matches: `action` (patterns, `*`
 * standing for any run of characters, case-sensitive), `category` (exact), `resourceType`
 * (patterns; any of the event's resources). `activity` is a name from the class's table in
 * ocsf-classes.ts or `auto`; `severity` a name from SEVERITIES.
 */
import * as z from 'zod';
import { ConfigurationError } from './errors.js';
import { issuesFromZod, messageFor, summarise } from './event.js';
import { OCSF_CLASSES, type OcsfClassName, SEVERITIES, type SeverityName } from './ocsf-classes.js';
import { parseJsonStrict } from './strict-json.js';

/** Largest mapping file read. */
export const MAX_MAPPING_BYTES = 1024 * 1024;
const MAX_RULES = 1000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: patterns refuse control characters
const PATTERN = /^[^\u0000-\u001f\u007f]{1,256}$/u;
const pattern = z.string().regex(PATTERN, {
  error: 'expected 1 to 256 characters without control characters',
});
const CLASS_NAMES = [
  'authentication',
  'account_change',
  'api_activity',
  'entity_management',
] as const;
const SEVERITY_NAMES = Object.keys(SEVERITIES) as [SeverityName, ...SeverityName[]];

const ruleSchema = z
  .strictObject({
    match: z
      .strictObject({
        action: z.array(pattern).min(1).optional(),
        category: z.array(pattern).min(1).optional(),
        resourceType: z.array(pattern).min(1).optional(),
      })
      .refine((m) => Object.keys(m).length > 0, {
        error: 'expected at least one of action, category, resourceType',
      }),
    class: z.enum(CLASS_NAMES),
    activity: z.string(),
    severity: z.enum(SEVERITY_NAMES).optional(),
  })
  .superRefine((rule, ctx) => {
    const cls = OCSF_CLASSES[rule.class];
    if (typeof rule.activity !== 'string' || !cls) return;
    const allowed = [...Object.keys(cls.activities), ...(autoAllowed(rule.class) ? ['auto'] : [])];
    if (!allowed.includes(rule.activity))
      ctx.addIssue({
        code: 'custom',
        path: ['activity'],
        input: rule.activity,
        message: `expected one of ${allowed.join(', ')} for class ${rule.class}, got ${JSON.stringify(rule.activity)}`,
      });
  });

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT_ID = /^\d{12}$/;

const configSchema = z.strictObject({
  version: z.literal(1),
  rules: z.array(ruleSchema).max(MAX_RULES).default([]),
  defaults: z.boolean().default(true),
  cloud: z
    .strictObject({
      provider: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/)
        .default('AWS'),
      region: z
        .string()
        .regex(REGION, { error: 'expected a region code such as eu-west-1' })
        .optional(),
      accountId: z
        .string()
        .regex(ACCOUNT_ID, { error: 'expected a 12-digit AWS account id' })
        .optional(),
    })
    .default({ provider: 'AWS' }),
});

export type OcsfRule = z.output<typeof ruleSchema>;
export type OcsfConfig = z.output<typeof configSchema>;

/** What a rule says about one event (the activity still `auto` until the verb is read). */
export type ClassChoice = {
  readonly cls: OcsfClassName;
  readonly activity: string;
  readonly severity?: SeverityName | undefined;
  /** Index of the rule in the user's list, or `default:N`, or `fallback`. */
  readonly rule: string;
};

function autoAllowed(cls: OcsfClassName): boolean {
  return cls === 'api_activity' || cls === 'entity_management';
}

/** The documented default rules (docs/OCSF.md §3), tried after the user's. */
export const DEFAULT_RULES: readonly OcsfRule[] = [
  rule('authentication', 'logon', {
    action: ['*:ConsoleLogin', 'login', 'signin', '*.login', '*.signin', '*.sign_in', '*.logon'],
  }),
  rule('authentication', 'logoff', {
    action: ['logout', 'signout', '*.logout', '*.signout', '*.sign_out', '*.logoff'],
  }),
  rule('account_change', 'create', {
    action: ['iam:CreateUser', 'iam:CreateRole', 'user.created'],
  }),
  rule('account_change', 'delete', {
    action: ['iam:DeleteUser', 'iam:DeleteRole', 'user.deleted'],
  }),
  rule('account_change', 'enable', { action: ['user.enabled'] }),
  rule('account_change', 'disable', { action: ['user.disabled'] }),
  rule('account_change', 'lock', { action: ['user.locked'] }),
  rule('account_change', 'password_change', {
    action: ['iam:ChangePassword', 'user.password_changed', 'user.password.change'],
  }),
  rule('account_change', 'password_reset', {
    action: ['iam:UpdateLoginProfile', 'user.password_reset', 'user.password.reset'],
  }),
  rule('account_change', 'attach_policy', {
    action: [
      'iam:AttachUserPolicy',
      'iam:AttachRolePolicy',
      'iam:PutUserPolicy',
      'iam:PutRolePolicy',
    ],
  }),
  rule('account_change', 'detach_policy', {
    action: [
      'iam:DetachUserPolicy',
      'iam:DetachRolePolicy',
      'iam:DeleteUserPolicy',
      'iam:DeleteRolePolicy',
    ],
  }),
  rule('account_change', 'mfa_factor_enable', {
    action: ['iam:EnableMFADevice', 'user.mfa.enroll'],
  }),
  rule('account_change', 'mfa_factor_disable', {
    action: ['iam:DeactivateMFADevice', 'iam:DeleteVirtualMFADevice'],
  }),
  rule('entity_management', 'auto', { action: ['iam:*'] }),
  rule('authentication', 'logon', { category: ['authentication'] }),
];

function rule(cls: OcsfClassName, activity: string, match: OcsfRule['match']): OcsfRule {
  return { class: cls, activity, match };
}

/** The configuration used without `--mapping`: the defaults, provider AWS. */
export const DEFAULT_OCSF_CONFIG: OcsfConfig = configSchema.parse({ version: 1 });

/**
 * Reads a mapping file's text.
 * @param location the file name, for the message
 * @throws ConfigurationError `OCSF_MAPPING_INVALID` with every issue and its dotted path (e.g.
 *   `rules.2.activity`), also for malformed JSON and for more than {@link MAX_MAPPING_BYTES}
 */
export function parseOcsfConfig(text: string, location: string): OcsfConfig {
  const fail = (message: string): never => {
    throw new ConfigurationError('OCSF_MAPPING_INVALID', message);
  };
  if (text.length > MAX_MAPPING_BYTES)
    fail(`${location}: expected at most ${MAX_MAPPING_BYTES} bytes, got ${text.length}`);
  let input: unknown;
  try {
    input = parseJsonStrict(text, location);
  } catch (err) {
    fail((err as Error).message);
  }
  const result = configSchema.safeParse(input, { error: messageFor });
  if (!result.success)
    fail(summarise('invalid OCSF mapping', issuesFromZod(result.error.issues), location));
  return result.data as OcsfConfig;
}

/** The event fields rules look at. */
export type RuleSubject = {
  readonly action: string;
  readonly category?: string | undefined;
  readonly resourceTypes: readonly string[];
};

/** The first rule of `config` (user rules, then defaults) that matches, or the fallback. */
export function chooseClass(subject: RuleSubject, config: OcsfConfig): ClassChoice {
  const tryRules = (rules: readonly OcsfRule[], label: (i: number) => string) => {
    for (const [i, r] of rules.entries())
      if (ruleMatches(r, subject))
        return { cls: r.class, activity: r.activity, severity: r.severity, rule: label(i) };
    return undefined;
  };
  return (
    tryRules(config.rules, String) ??
    (config.defaults ? tryRules(DEFAULT_RULES, (i) => `default:${i}`) : undefined) ?? {
      cls: 'api_activity',
      activity: 'auto',
      rule: 'fallback',
    }
  );
}

function ruleMatches(r: OcsfRule, s: RuleSubject): boolean {
  const { action, category, resourceType } = r.match;
  if (action && !action.some((p) => globMatch(p, s.action))) return false;
  if (category && (s.category === undefined || !category.includes(s.category))) return false;
  if (resourceType && !s.resourceTypes.some((t) => resourceType.some((p) => globMatch(p, t))))
    return false;
  return true;
}

/** `*` matches any run of characters (none included); everything else matches itself. */
export function globMatch(pat: string, text: string): boolean {
  const parts = pat.split('*');
  if (parts.length === 1) return pat === text;
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (!text.startsWith(first) || text.length < first.length + last.length) return false;
  let at = first.length;
  for (const middle of parts.slice(1, -1)) {
    const found = text.indexOf(middle, at);
    if (found < 0) return false;
    at = found + middle.length;
  }
  return text.length - last.length >= at && text.endsWith(last);
}

const VERBS: Readonly<Record<'create' | 'read' | 'update' | 'delete', readonly string[]>> = {
  create: [
    'create',
    'add',
    'put',
    'insert',
    'upload',
    'register',
    'import',
    'generate',
    'copy',
    'post',
    'new',
  ],
  read: [
    'get',
    'list',
    'describe',
    'read',
    'head',
    'search',
    'query',
    'lookup',
    'download',
    'select',
    'scan',
    'view',
    'export',
  ],
  update: [
    'update',
    'modify',
    'set',
    'change',
    'edit',
    'enable',
    'disable',
    'attach',
    'detach',
    'tag',
    'untag',
    'associate',
    'disassociate',
    'rotate',
    'replace',
    'patch',
    'restore',
    'start',
    'stop',
    'reset',
    'grant',
    'revoke',
    'assign',
    'move',
    'rename',
  ],
  delete: ['delete', 'remove', 'destroy', 'terminate', 'purge', 'drop', 'deregister', 'unregister'],
};

/**
 * The CRUD activity an action's verb names (`auto`): the first word of the part after the last
 * `:`, `.` or `/` (`s3:PutObject` → put, `user.created` → created), compared case-insensitively
 * with VERBS, also with a trailing `d`, `ed` or `s`. Anything else is `other`.
 */
export function verbActivity(action: string): 'create' | 'read' | 'update' | 'delete' | 'other' {
  const tail = action.slice(
    Math.max(action.lastIndexOf(':'), action.lastIndexOf('.'), action.lastIndexOf('/')) + 1,
  );
  const word = (/^[A-Za-z][a-z]*/.exec(tail)?.[0] ?? '').toLowerCase();
  for (const [activity, verbs] of Object.entries(VERBS))
    for (const v of verbs)
      if (word === v || word === `${v}d` || word === `${v}ed` || word === `${v}s`)
        return activity as keyof typeof VERBS;
  return 'other';
}
