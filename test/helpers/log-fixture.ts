/**
 * Builds real logs for tests: a local P-256 key, an in-memory (or any) store, and the archiver.
 */
import { generateKeyPair } from '../../src/adapters/keys.js';
import { LocalSigner } from '../../src/adapters/local-signer.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { Archiver, type ArchiverOptions } from '../../src/app/archiver.js';
import type { AuditEvent } from '../../src/core/event.js';
import { parseEvent } from '../../src/core/event.js';
import type { TrustedKey } from '../../src/core/note.js';
import type { Clock, ObjectStore } from '../../src/core/ports.js';

/** A clock that advances 1 ms per read, starting at a fixed instant (reproducible timestamps). */
export function steppingClock(
  start = Date.UTC(2026, 10, 26, 8, 0, 0),
): Clock & { set(ms: number): void } {
  let t = start;
  return {
    now: () => t++,
    set: (ms: number) => {
      t = ms;
    },
  };
}

export type TestKey = {
  signer: LocalSigner;
  trusted: TrustedKey;
  spki: Uint8Array;
  privateKeyPem: string;
};

export function makeKey(label = 'test'): TestKey {
  const pair = generateKeyPair();
  const signer = LocalSigner.fromPem(pair.privateKeyPem);
  return {
    signer,
    spki: pair.spki,
    trusted: { spki: pair.spki, label },
    privateKeyPem: pair.privateKeyPem,
  };
}

/** A valid event, distinct per `i`. */
export function sampleEvent(i: number, extra: Partial<Record<string, unknown>> = {}): AuditEvent {
  return parseEvent({
    id: `evt-${i}`,
    time: '2026-11-26T07:59:00.000Z',
    actor: { id: `user-${i % 7}`, type: 'user', name: 'Zoë Ångström' },
    action: i % 3 === 0 ? 'iam:CreateUser' : 'user.login',
    resources: [{ type: 'aws:iam:user', id: `arn:aws:iam::123456789012:user/u${i}` }],
    outcome: i % 11 === 0 ? 'failure' : 'success',
    source: { ip: '203.0.113.7', userAgent: 'aws-cli/2.17' },
    detail: { n: i, note: '山田太郎 approved' },
    ...extra,
  });
}

export type LogFixture = {
  store: ObjectStore;
  key: TestKey;
  clock: ReturnType<typeof steppingClock>;
  open(overrides?: Partial<ArchiverOptions>): Promise<Archiver>;
};

export function logFixture(
  store: ObjectStore = new MemoryStore(),
  key: TestKey = makeKey(),
): LogFixture {
  const clock = steppingClock();
  return {
    store,
    key,
    clock,
    open: (overrides = {}) =>
      Archiver.open({
        store,
        signer: key.signer,
        clock,
        log: 'main',
        origin: 'audit.example.com/test/main',
        maxAgeMs: 60_000,
        ...overrides,
      }),
  };
}

/** Appends `count` events (ids from `from`) in segments of `perSegment`, and closes. */
export async function writeLog(
  fx: LogFixture,
  count: number,
  perSegment: number,
  from = 0,
  overrides: Partial<ArchiverOptions> = {},
): Promise<void> {
  const archiver = await fx.open({ maxEvents: perSegment, ...overrides });
  const stored: Promise<unknown>[] = [];
  for (let i = from; i < from + count; i++)
    stored.push((await archiver.submit(sampleEvent(i))).stored);
  await archiver.close();
  await Promise.all(stored);
}

/**
 * `inner` with its puts done by `putIfAbsent` instead (to fail, hold or watch them); reads go
 * to `inner` unchanged.
 */
export function withPut(inner: ObjectStore, putIfAbsent: ObjectStore['putIfAbsent']): ObjectStore {
  return {
    location: inner.location,
    putIfAbsent,
    get: (k, o) => inner.get(k, o),
    exists: (k) => inner.exists(k),
    list: (p, o) => inner.list(p, o),
  };
}
