/**
 * A small checker of OCSF events against the vendored OCSF 1.1.0 schema (test/vectors/ocsf/,
 * see its README): for a class file, the attributes of the class with everything it inherits
 * (`extends`), includes (`$include`) and the profiles the event claims in `metadata.profiles`,
 * each attribute's type and enum from dictionary.json, and the same for every object an event
 * holds (objects/*.json, with their own `extends` and `constraints`). It reports:
 * - a required attribute missing, an attribute the class or object does not define;
 * - a value of the wrong type (string kinds with their `regex` and `max_len`, integer_t as a
 *   32-bit integer, long_t and timestamp_t as integers, boolean_t, arrays, objects);
 * - an `_id` value outside its enum; an object breaking `at_least_one` or `just_one`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OCSF_DIR = fileURLToPath(new URL('../vectors/ocsf/', import.meta.url));

type Json = Record<string, unknown>;
type Attr = {
  type?: string;
  is_array?: boolean;
  requirement?: string | null;
  enum?: Record<string, unknown>;
  profile?: string | null;
};
type Definition = { attrs: Record<string, Attr>; constraints: Json };

const cache = new Map<string, Json>();
function load(rel: string): Json {
  let j = cache.get(rel);
  if (!j) {
    j = JSON.parse(readFileSync(join(OCSF_DIR, rel), 'utf8')) as Json;
    cache.set(rel, j);
  }
  return j;
}

const dictionary = () =>
  load('dictionary.json') as {
    attributes: Record<string, Attr>;
    types: { attributes: Record<string, Json> };
  };

/** Merges `more` into `attrs`: members given override, enums add up. */
function merge(
  attrs: Record<string, Attr>,
  more: Record<string, unknown>,
  profiles: ReadonlySet<string>,
): void {
  for (const [name, raw] of Object.entries(more)) {
    if (name === '$include') {
      for (const inc of raw as string[]) {
        const profile = /^profiles\/(.+)\.json$/.exec(inc)?.[1];
        if (profile && !profiles.has(profile)) continue;
        merge(attrs, (load(inc).attributes ?? {}) as Json, profiles);
      }
      continue;
    }
    const a = raw as Attr;
    const before = attrs[name] ?? {};
    const merged: Attr = { ...before };
    for (const [k, v] of Object.entries(a))
      if (v !== null || k === 'profile') (merged as Json)[k] = v;
    if (before.enum || a.enum) merged.enum = { ...before.enum, ...a.enum };
    attrs[name] = merged;
  }
}

const EVENT_PARENTS: Record<string, string> = {
  base_event: 'events/base_event.json',
  iam: 'events/iam/iam.json',
  application: 'events/application/application.json',
};

function eventDefinition(rel: string, profiles: ReadonlySet<string>): Definition {
  const def = load(rel);
  const attrs: Record<string, Attr> = {};
  if (typeof def.extends === 'string') {
    const parent = EVENT_PARENTS[def.extends];
    if (!parent) throw new Error(`unknown parent ${def.extends} of ${rel}`);
    Object.assign(attrs, eventDefinition(parent, profiles).attrs);
  }
  merge(attrs, (def.attributes ?? {}) as Json, profiles);
  return { attrs: withDictionary(attrs), constraints: (def.constraints ?? {}) as Json };
}

function objectDefinition(name: string): Definition {
  const def = load(`objects/${name}.json`);
  const attrs: Record<string, Attr> = {};
  let constraints = {};
  if (typeof def.extends === 'string' && def.extends !== 'object') {
    const parent = objectDefinition(def.extends);
    Object.assign(attrs, parent.attrs);
    constraints = parent.constraints;
  }
  merge(attrs, (def.attributes ?? {}) as Json, new Set());
  return { attrs: withDictionary(attrs), constraints: (def.constraints ?? constraints) as Json };
}

function withDictionary(attrs: Record<string, Attr>): Record<string, Attr> {
  const dict = dictionary().attributes;
  const out: Record<string, Attr> = {};
  for (const [name, a] of Object.entries(attrs)) {
    const d = dict[name] ?? {};
    out[name] = { ...d, ...a, enum: a.enum || d.enum ? { ...d.enum, ...a.enum } : undefined };
  }
  return out;
}

/** The string, integer, long, boolean or float base of a dictionary type. */
function baseType(t: string): string {
  const types = dictionary().types.attributes;
  let cur = t;
  for (let i = 0; i < 5; i++) {
    const next = types[cur]?.type as string | undefined;
    if (!next || next === cur) break;
    cur = next;
  }
  return cur;
}

/**
 * Problems of `event` against the class in `classFile` (e.g. `events/iam/authentication.json`),
 * one line each (`path: what`); empty when it conforms.
 */
export function checkOcsfEvent(event: Json, classFile: string): string[] {
  const profiles = new Set(
    ((event.metadata as Json | undefined)?.profiles as string[] | undefined) ?? [],
  );
  const problems: string[] = [];
  checkObject(event, eventDefinition(classFile, profiles), '', problems);
  return problems;
}

const CLASS_NUMBERS = ['class_uid', 'category_uid', 'type_uid'];

function checkObject(value: Json, def: Definition, path: string, problems: string[]): void {
  for (const [name, a] of Object.entries(def.attrs))
    if (a.requirement === 'required' && value[name] === undefined)
      problems.push(`${path}${name}: required, missing`);
  for (const [name, v] of Object.entries(value)) {
    const a = def.attrs[name];
    if (!a) problems.push(`${path}${name}: not an attribute here`);
    // The dictionary's enums of these list only 0; the schema derives them per class (checked
    // against classNumbers by the tests instead).
    else if (path === '' && CLASS_NUMBERS.includes(name))
      checkValue(v, { ...a, enum: undefined }, name, problems);
    else checkValue(v, a, `${path}${name}`, problems);
  }
  const atLeastOne = def.constraints.at_least_one as string[] | undefined;
  if (atLeastOne && !atLeastOne.some((n) => value[n] !== undefined))
    problems.push(`${path || '(event)'}: needs at least one of ${atLeastOne.join(', ')}`);
  const justOne = def.constraints.just_one as string[] | undefined;
  if (justOne && justOne.filter((n) => value[n] !== undefined).length !== 1)
    problems.push(`${path || '(event)'}: needs exactly one of ${justOne.join(', ')}`);
}

function checkValue(v: unknown, a: Attr, path: string, problems: string[]): void {
  if (a.is_array) {
    if (!Array.isArray(v)) return void problems.push(`${path}: expected an array`);
    for (const [i, x] of v.entries()) checkOne(x, a, `${path}[${i}]`, problems);
    return;
  }
  checkOne(v, a, path, problems);
}

function checkOne(v: unknown, a: Attr, path: string, problems: string[]): void {
  const t = a.type ?? 'string_t';
  const bad = (what: string) =>
    problems.push(`${path}: expected ${what}, got ${JSON.stringify(v)}`);
  if (a.enum && (typeof v === 'number' || typeof v === 'string') && !(String(v) in a.enum))
    bad(`one of ${Object.keys(a.enum).join(', ')}`);
  if (t === 'object') {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('an object');
    return;
  }
  if (t === 'json_t') return;
  if (!t.endsWith('_t')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return void bad(`a ${t} object`);
    checkObject(v as Json, objectDefinition(t), `${path}.`, problems);
    return;
  }
  const base = baseType(t);
  const spec = dictionary().types.attributes[t] ?? {};
  if (base === 'string_t') {
    if (typeof v !== 'string') return void bad('text');
    if (typeof spec.max_len === 'number' && v.length > spec.max_len)
      bad(`at most ${spec.max_len} characters`);
    if (typeof spec.regex === 'string' && !new RegExp(spec.regex).test(v))
      bad(`text matching ${t}`);
  } else if (base === 'integer_t') {
    if (!Number.isInteger(v) || (v as number) < -(2 ** 31) || (v as number) >= 2 ** 31)
      bad('a 32-bit integer');
  } else if (base === 'long_t') {
    if (!Number.isSafeInteger(v)) bad('an integer');
  } else if (base === 'boolean_t') {
    if (typeof v !== 'boolean') bad('a boolean');
  } else if (base === 'float_t') {
    if (typeof v !== 'number') bad('a number');
  } else bad(`a value of type ${t} (unknown to this checker)`);
}

/** uid of a class file, and of its category (categories.json). */
export function classNumbers(classFile: string): { classUid: number; categoryUid: number } {
  const def = load(classFile);
  let category = def.category as string | undefined;
  let cur = def;
  while (!category && typeof cur.extends === 'string') {
    cur = load(EVENT_PARENTS[cur.extends] as string);
    category = cur.category as string | undefined;
  }
  const cats = load('categories.json').attributes as Record<string, { uid: number }>;
  const categoryUid = category && category !== 'other' ? (cats[category]?.uid ?? 0) : 0;
  return { categoryUid, classUid: categoryUid * 1000 + ((def.uid as number | undefined) ?? 0) };
}
