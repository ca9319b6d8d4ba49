/**
 * The OCSF 1.1.0 event classes the export maps to, with the activities a mapping rule may name.
 * Numbers from the schema (github.com/ocsf/ocsf-schema, tag v1.1.0; a snapshot is vendored in
 * test/vectors/ocsf/): `class_uid` = category uid × 1000 + the class's own uid
 * (categories.json, events/<category>/<class>.json), and every class inherits activities 0
 * `Unknown` and 99 `Other` from the base event (dictionary.json `activity_id`).
 */

export const OCSF_VERSION = '1.1.0';

/** A class a rule may choose (quarantined entries always go to `base_event`). */
export type OcsfClassName =
  | 'authentication'
  | 'account_change'
  | 'api_activity'
  | 'entity_management';

export type OcsfClass = {
  readonly name: OcsfClassName | 'base_event';
  readonly caption: string;
  readonly classUid: number;
  readonly categoryUid: number;
  readonly categoryName: string;
  /** Rule names (snake case of the schema's caption) to activity ids. */
  readonly activities: Readonly<Record<string, number>>;
  /** Security Lake custom source this class goes to (one class per source). */
  readonly source: string;
};

const INHERITED = { unknown: 0, other: 99 } as const;
/** Create / Read / Update / Delete, shared by API Activity and Entity Management. */
const CRUD = { create: 1, read: 2, update: 3, delete: 4 } as const;

export const OCSF_CLASSES: Readonly<Record<OcsfClassName | 'base_event', OcsfClass>> = {
  authentication: {
    name: 'authentication',
    caption: 'Authentication',
    classUid: 3002,
    categoryUid: 3,
    categoryName: 'Identity & Access Management',
    activities: {
      ...INHERITED,
      logon: 1,
      logoff: 2,
      authentication_ticket: 3,
      service_ticket_request: 4,
      service_ticket_renew: 5,
    },
    source: 'auditlock-authentication',
  },
  account_change: {
    name: 'account_change',
    caption: 'Account Change',
    classUid: 3001,
    categoryUid: 3,
    categoryName: 'Identity & Access Management',
    activities: {
      ...INHERITED,
      create: 1,
      enable: 2,
      password_change: 3,
      password_reset: 4,
      disable: 5,
      delete: 6,
      attach_policy: 7,
      detach_policy: 8,
      lock: 9,
      mfa_factor_enable: 10,
      mfa_factor_disable: 11,
    },
    source: 'auditlock-account-change',
  },
  entity_management: {
    name: 'entity_management',
    caption: 'Entity Management',
    classUid: 3004,
    categoryUid: 3,
    categoryName: 'Identity & Access Management',
    activities: { ...INHERITED, ...CRUD },
    source: 'auditlock-entity-management',
  },
  api_activity: {
    name: 'api_activity',
    caption: 'API Activity',
    classUid: 6003,
    categoryUid: 6,
    categoryName: 'Application Activity',
    activities: { ...INHERITED, ...CRUD },
    source: 'auditlock-api-activity',
  },
  base_event: {
    name: 'base_event',
    caption: 'Base Event',
    classUid: 0,
    categoryUid: 0,
    categoryName: 'Uncategorized',
    activities: INHERITED,
    source: 'auditlock-quarantine',
  },
};

/** The schema's caption of an activity id of `cls` (`Other` for 99, `Unknown` for 0). */
export function activityCaption(cls: OcsfClass, activityId: number): string {
  return CAPTIONS.get(cls.classUid)?.get(activityId) ?? 'Other';
}

function captionOf(name: string): string {
  return name
    .split('_')
    .map((w) => (w === 'mfa' ? 'MFA' : `${w[0]?.toUpperCase()}${w.slice(1)}`))
    .join(' ');
}

/** Captions by class uid and activity id, computed once from the table above (constant). */
const CAPTIONS: ReadonlyMap<number, ReadonlyMap<number, string>> = new Map(
  Object.values(OCSF_CLASSES).map((c) => [
    c.classUid,
    new Map(Object.entries(c.activities).map(([name, id]) => [id, captionOf(name)])),
  ]),
);

/** OCSF `severity_id` values by name (dictionary.json `severity_id`). */
export const SEVERITIES = {
  unknown: 0,
  informational: 1,
  low: 2,
  medium: 3,
  high: 4,
  critical: 5,
  fatal: 6,
  other: 99,
} as const;
export type SeverityName = keyof typeof SEVERITIES;
