/**
 * Paths of sealable event fields (docs/FORMAT.md §11.1): member names joined by `.`, either one of
 * a fixed list of personal text fields or `detail.` and 1–32 member names into `detail`. Array
 * elements cannot be named, so a path always walks objects only.
 *
 * Reading, removing and inserting a value at a path, on plain JSON objects; each function copies
 * the objects on the way instead of changing its input.
 */
import type { JsonObject, JsonValue } from './canonical-json.js';
import { InputError } from './errors.js';

/** The fields outside `detail` that may be sealed, with the stand-in of each (§11.1). */
const FIXED_PATHS: Readonly<Record<string, string>> = {
  'actor.id': '-',
  'actor.name': '-',
  'actor.account': '-',
  'actor.sessionId': '-',
  'source.ip': '192.0.2.0',
  'source.userAgent': '-',
  'source.host': '-',
  'reason.message': '-',
  correlationId: '-',
};

export const MAX_DETAIL_PATH_NAMES = 32;
const MAX_NAME = 256;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Whether `path` is a sealable field path of §11.1. */
export function isSealablePath(path: string): boolean {
  if (Object.hasOwn(FIXED_PATHS, path)) return true;
  const names = path.split('.');
  if (names[0] !== 'detail' || names.length < 2 || names.length > MAX_DETAIL_PATH_NAMES + 1)
    return false;
  return names.every((n) => n.length > 0 && n.length <= MAX_NAME && !LONE_SURROGATE.test(n));
}

/**
 * `path` checked against §11.1.
 * @throws InputError `SEAL_PATH_INVALID`
 */
export function checkSealablePath(path: string, where: string): string {
  if (!isSealablePath(path))
    throw new InputError(
      'SEAL_PATH_INVALID',
      `${where}: expected one of ${Object.keys(FIXED_PATHS).join(', ')} or detail.<name>[.<name>…] (at most ${MAX_DETAIL_PATH_NAMES} names), got ${JSON.stringify(path)}`,
    );
  return path;
}

/** The stand-in a strict reader inserts for a sealed field at `path` (§11.1). */
export function standInFor(path: string): JsonValue {
  return FIXED_PATHS[path] ?? null;
}

/** Any event path (sealable or not, e.g. a subject path) split into member names. */
function namesOf(path: string): string[] {
  return path.split('.');
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path` in `root`, or undefined when a member on the way is absent or no object. */
export function valueAt(root: JsonObject, path: string): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const name of namesOf(path)) {
    if (!isObject(node) || !Object.hasOwn(node, name)) return undefined;
    node = node[name];
  }
  return node;
}

/** Whether every object on the way to `path` exists in `root` (the last member need not). */
export function parentExists(root: JsonObject, path: string): boolean {
  const names = namesOf(path);
  let node: JsonValue | undefined = root;
  for (const name of names.slice(0, -1)) {
    if (!isObject(node) || !Object.hasOwn(node, name)) return false;
    node = node[name];
  }
  return isObject(node);
}

/** A copy of `root` with the member at `path` set to `value`; its parent objects must exist. */
export function withValueAt(root: JsonObject, path: string, value: JsonValue): JsonObject {
  return rewrite(root, namesOf(path), (parent, name) => {
    setMember(parent, name, value);
  });
}

/** A copy of `root` without the member at `path` (unchanged objects are shared, not copied). */
export function withoutValueAt(root: JsonObject, path: string): JsonObject {
  return rewrite(root, namesOf(path), (parent, name) => {
    delete parent[name];
  });
}

function rewrite(
  root: JsonObject,
  names: readonly string[],
  change: (parent: JsonObject, name: string) => void,
): JsonObject {
  const [first, ...rest] = names as [string, ...string[]];
  const copy: JsonObject = { ...root };
  if (rest.length === 0) {
    change(copy, first);
    return copy;
  }
  const child = copy[first];
  if (!isObject(child)) return copy;
  setMember(copy, first, rewrite(child, rest, change));
  return copy;
}

/** `obj[name] = value` as an own data member, also for a name such as `__proto__`. */
function setMember(obj: JsonObject, name: string, value: JsonValue): void {
  Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true });
}
