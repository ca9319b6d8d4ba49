/**
 * Where an exported row goes in a Security Lake custom-source layout (docs/OCSF.md §5): one
 * folder per OCSF class (a custom source holds one class), then
 * `region=<region>/accountId=<account id>/eventDay=<YYYYMMDD>/`, the partitions Security Lake's
 * custom sources use. Pure.
 *
 * Partition values are path components and come from events, which are attacker-controlled: a
 * value is used only when it has the form AWS gives it (a region code, 12 digits), otherwise the
 * configured one, otherwise `unknown`. eventDay is the UTC day of the row's `time`.
 */

import type { OcsfObject, OcsfRow } from './ocsf.js';
import { OCSF_CLASSES } from './ocsf-classes.js';
import type { OcsfConfig } from './ocsf-config.js';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT_ID = /^\d{12}$/;

export type Partition = {
  /** The custom source (folder) of the row's class. */
  readonly source: string;
  readonly region: string;
  readonly accountId: string;
  /** YYYYMMDD, UTC. */
  readonly eventDay: string;
};

/** The partition of `row`. */
export function partitionOf(row: OcsfRow, config: OcsfConfig): Partition {
  const cls = Object.values(OCSF_CLASSES).find((c) => c.classUid === row.class_uid);
  const cloud = row.cloud as OcsfObject | undefined;
  const region =
    typeof cloud?.region === 'string' && REGION.test(cloud.region) ? cloud.region : undefined;
  const account = (cloud?.account as OcsfObject | undefined)?.uid;
  const accountId = typeof account === 'string' && ACCOUNT_ID.test(account) ? account : undefined;
  return {
    source: cls?.source ?? `auditlock-class-${row.class_uid}`,
    region: region ?? config.cloud.region ?? 'unknown',
    accountId: accountId ?? config.cloud.accountId ?? 'unknown',
    eventDay: new Date(row.time).toISOString().slice(0, 10).replaceAll('-', ''),
  };
}

/** The folder of a partition, relative to the export's root, `/`-separated. */
export function partitionPath(p: Partition): string {
  return `${p.source}/region=${p.region}/accountId=${p.accountId}/eventDay=${p.eventDay}`;
}
