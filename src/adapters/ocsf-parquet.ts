/**
 * OCSF rows as Apache Parquet (docs/OCSF.md §5), written with hyparquet-writer (pure JavaScript,
 * one dependency; chosen by measurement, docs/OCSF.md §7). Nested OCSF objects are Parquet
 * groups, arrays are 3-level LISTs, `unmapped` is a MAP of text to text, so Athena and Security
 * Lake see the same structure as the JSON rows. One column set per class: every file of a class
 * (a Security Lake custom source) has the same schema, a member a row lacks is null.
 *
 * Types follow OCSF's (dictionary.json): `integer_t` INT32, `long_t` and `timestamp_t` INT64
 * (milliseconds), `string_t` and its kinds UTF8, `boolean_t` BOOLEAN.
 */
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { OcsfObject, OcsfRow, OcsfValue } from '../core/ocsf.js';
import { OCSF_CLASSES, OCSF_VERSION } from '../core/ocsf-classes.js';

type Leaf = 'string' | 'int32' | 'int64' | 'boolean';
type Node = Leaf | { readonly struct: Shape } | { readonly list: Node } | 'map';
type Shape = Readonly<Record<string, Node>>;

const s = 'string';
const struct = (shape: Shape): Node => ({ struct: shape });
const ACCOUNT = struct({ uid: s });
const USER = struct({ uid: s, name: s, type: s, type_id: 'int32', account: ACCOUNT });
const RESOURCES: Node = {
  list: struct({ uid: s, type: s, name: s, region: s, owner: struct({ account: ACCOUNT }) }),
};

/** The attributes every exported class may carry (core/ocsf.ts), in column order. */
const BASE: Shape = {
  activity_id: 'int32',
  activity_name: s,
  category_uid: 'int32',
  category_name: s,
  class_uid: 'int32',
  class_name: s,
  type_uid: 'int64',
  type_name: s,
  severity_id: 'int32',
  time: 'int64',
  timezone_offset: 'int32',
  message: s,
  status_id: 'int32',
  status: s,
  status_code: s,
  status_detail: s,
  metadata: struct({
    version: s,
    product: struct({ name: s, vendor_name: s, version: s }),
    log_provider: s,
    log_name: s,
    sequence: 'int32',
    logged_time: 'int64',
    uid: s,
    correlation_uid: s,
    original_time: s,
    profiles: { list: s },
    labels: { list: s },
  }),
  cloud: struct({ provider: s, region: s, account: ACCOUNT }),
  actor: struct({ user: USER, session: struct({ uid: s }) }),
  src_endpoint: struct({ ip: s, hostname: s, svc_name: s, name: s }),
  http_request: struct({ user_agent: s }),
};

/** Columns by class uid: the base ones, the class's own, then `unmapped`. */
export const PARQUET_SHAPES: ReadonlyMap<number, Shape> = new Map([
  [
    OCSF_CLASSES.authentication.classUid,
    { ...BASE, user: USER, service: struct({ name: s }), unmapped: 'map' },
  ],
  [OCSF_CLASSES.account_change.classUid, { ...BASE, user: USER, unmapped: 'map' }],
  [
    OCSF_CLASSES.entity_management.classUid,
    {
      ...BASE,
      entity: struct({ uid: s, name: s, type: s }),
      resources: RESOURCES,
      unmapped: 'map',
    },
  ],
  [
    OCSF_CLASSES.api_activity.classUid,
    {
      ...BASE,
      api: struct({
        operation: s,
        service: struct({ name: s }),
        request: struct({ uid: s }),
        response: struct({ error: s, error_message: s }),
      }),
      resources: RESOURCES,
      unmapped: 'map',
    },
  ],
  [OCSF_CLASSES.base_event.classUid, { ...BASE, unmapped: 'map' }],
]);

type SchemaElement = Record<string, string | number>;

function schemaOf(name: string, node: Node, repetition: string, out: SchemaElement[]): void {
  const base = { name, repetition_type: repetition };
  if (node === 'string') out.push({ ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8' });
  else if (node === 'int32') out.push({ ...base, type: 'INT32' });
  else if (node === 'int64') out.push({ ...base, type: 'INT64' });
  else if (node === 'boolean') out.push({ ...base, type: 'BOOLEAN' });
  else if (node === 'map') {
    out.push({ ...base, converted_type: 'MAP', num_children: 1 });
    out.push({ name: 'key_value', repetition_type: 'REPEATED', num_children: 2 });
    out.push({
      name: 'key',
      repetition_type: 'REQUIRED',
      type: 'BYTE_ARRAY',
      converted_type: 'UTF8',
    });
    out.push({
      name: 'value',
      repetition_type: 'OPTIONAL',
      type: 'BYTE_ARRAY',
      converted_type: 'UTF8',
    });
  } else if ('list' in node) {
    out.push({ ...base, converted_type: 'LIST', num_children: 1 });
    out.push({ name: 'list', repetition_type: 'REPEATED', num_children: 1 });
    schemaOf('element', node.list, 'REQUIRED', out);
  } else {
    const members = Object.entries(node.struct);
    out.push({ ...base, num_children: members.length });
    for (const [k, child] of members) schemaOf(k, child, 'OPTIONAL', out);
  }
}

/** A row's value as hyparquet-writer takes it for `node`: INT64 as bigint, MAP as pairs. */
function parquetValue(node: Node, v: OcsfValue | undefined): unknown {
  if (v === undefined) return null;
  if (node === 'int64') return BigInt(v as number);
  if (node === 'string' || node === 'int32' || node === 'boolean') return v;
  if (node === 'map')
    return Object.entries(v as Record<string, string>).map(([key, value]) => ({ key, value }));
  if ('list' in node) return (v as OcsfValue[]).map((x) => parquetValue(node.list, x));
  const o = v as OcsfObject;
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(node.struct)) out[k] = parquetValue(child, o[k]);
  return out;
}

/**
 * One Parquet file of rows of one class (Snappy, statistics on).
 * @throws Error when a row's class has no Parquet shape (a bug: every class mapped has one)
 */
export function ocsfParquet(rows: readonly OcsfRow[]): Uint8Array {
  const classUid = rows[0]?.class_uid ?? 0;
  const shape = PARQUET_SHAPES.get(classUid);
  if (!shape) throw new RangeError(`no Parquet columns for OCSF class ${classUid}`);
  for (const r of rows)
    if (r.class_uid !== classUid)
      throw new RangeError(`one Parquet file holds one class: ${classUid} and ${r.class_uid}`);
  const members = Object.entries(shape);
  const schema: SchemaElement[] = [{ name: 'schema', num_children: members.length }];
  for (const [name, node] of members) schemaOf(name, node, 'OPTIONAL', schema);
  const columnData = members.map(([name, node]) => ({
    name,
    data: rows.map((r) => parquetValue(node, r[name])),
  }));
  const buffer = parquetWriteBuffer({
    // hyparquet-writer's types are narrower than the schema elements it accepts at run time.
    columnData: columnData as never,
    schema: schema as never,
    kvMetadata: [
      { key: 'ocsf.version', value: OCSF_VERSION },
      { key: 'ocsf.class_uid', value: String(classUid) },
    ],
    createdBy: 'auditlock (hyparquet-writer)',
  });
  return new Uint8Array(buffer);
}
