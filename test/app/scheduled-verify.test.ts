/**
 * The scheduled verifier's run (app/scheduled-verify.ts) on in-memory stores standing for the
 * primary, the replica and the verifier's state: incremental runs that read only new segments,
 * a cosignature of every clean verified head, a rollback and a lagging replica reported to the
 * notifier and never cosigned, a time budget that ends a run early and the next run going on.
 */
import { describe, expect, it } from 'vitest';
import { LocalEd25519Signer } from '../../src/adapters/ed25519-key.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import {
  runScheduledVerification,
  type ScheduledVerifyDeps,
} from '../../src/app/scheduled-verify.js';
import { cosignerKey } from '../../src/core/cosignature.js';
import { segmentKey } from '../../src/core/layout.js';
import type { Notifier, ObjectStore } from '../../src/core/ports.js';
import { logFixture, writeLog } from '../helpers/log-fixture.js';

type Message = { subject: string; body: string };

class RecordingNotifier implements Notifier {
  readonly description = 'test notifier';
  readonly messages: Message[] = [];
  async publish(message: Message): Promise<void> {
    this.messages.push(message);
  }
}

/** Copies every object of `from` that `to` lacks, except `skip` (what S3 replication does). */
async function replicate(from: ObjectStore, to: ObjectStore, skip: string[] = []): Promise<void> {
  for await (const o of from.list('')) {
    if (skip.includes(o.key) || (await to.exists(o.key))) continue;
    await to.putIfAbsent(o.key, (await from.get(o.key)) as Uint8Array);
  }
}

/** A copy of `from` without `drop`: a primary whose newest segments were removed. */
async function copyWithout(from: ObjectStore, drop: string[]): Promise<MemoryStore> {
  const to = new MemoryStore();
  for await (const o of from.list(''))
    if (!drop.includes(o.key)) await to.putIfAbsent(o.key, (await from.get(o.key)) as Uint8Array);
  return to;
}

async function setup() {
  const fx = logFixture();
  const signer = LocalEd25519Signer.generate();
  const key = cosignerKey('verifier.example.com/w', await signer.publicKey());
  const notifier = new RecordingNotifier();
  const replica = new MemoryStore();
  const state = new MemoryStore();
  let now = Date.UTC(2026, 11, 2, 4, 0, 0);
  const deps = (over: Partial<ScheduledVerifyDeps> = {}): ScheduledVerifyDeps => ({
    primary: fx.store,
    replica,
    state,
    trustedKeys: [fx.key.trusted],
    witness: { signer, key },
    notifier,
    clock: { now: () => now },
    timeLeftMs: () => 600_000,
    reserveMs: 30_000,
    ...over,
  });
  const later = (ms: number) => {
    now += ms;
  };
  return { fx, key, notifier, replica, state, deps, later };
}

async function cosigned(state: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of state.list('main/witness/')) keys.push(o.key);
  return keys;
}

describe('runScheduledVerification', () => {
  it('verifies, cosigns the clean head, then reads only what is new', async () => {
    const { fx, notifier, replica, state, deps, later } = await setup();
    await writeLog(fx, 40, 10);
    await replicate(fx.store, replica);
    const first = await runScheduledVerification(deps());
    expect(first).toMatchObject({ ok: true, complete: true, findings: 0, notified: false });
    expect(first.logs).toMatchObject([
      {
        log: 'main',
        segmentsRead: 4,
        to: 40,
        witness: { ok: true, treeSize: 40, stored: 'created' },
        secondsSinceCosigned: 0,
      },
    ]);
    expect(await cosigned(state)).toEqual([expect.stringMatching(/^main\/witness\/0{18}40-/)]);

    later(300_000);
    await writeLog(fx, 25, 10, 40);
    await replicate(fx.store, replica);
    const second = await runScheduledVerification(deps());
    expect(second.ok).toBe(true);
    expect(second.logs).toMatchObject([
      { segmentsRead: 3, from: 40, to: 65, witness: { ok: true, treeSize: 65 } },
    ]);
    expect(await cosigned(state)).toHaveLength(2);
    expect(notifier.messages).toEqual([]);

    later(300_000);
    const idle = await runScheduledVerification(deps());
    expect(idle.logs).toMatchObject([{ segmentsRead: 0, witness: { ok: true, treeSize: 65 } }]);
  });

  it('a primary rolled back behind its back is reported and not cosigned', async () => {
    const { fx, notifier, replica, state, deps } = await setup();
    await writeLog(fx, 40, 10);
    await replicate(fx.store, replica);
    expect((await runScheduledVerification(deps())).ok).toBe(true);
    const rolledBack = await copyWithout(fx.store, [segmentKey('main', 3)]);
    const r = await runScheduledVerification(deps({ primary: rolledBack }));
    expect(r.ok).toBe(false);
    expect(r.findingsByCode.LOG_TRUNCATED).toBeGreaterThan(0);
    expect(r.logs[0]?.witness).toBeUndefined();
    expect(await cosigned(state)).toHaveLength(1);
    expect(notifier.messages).toHaveLength(1);
    expect(notifier.messages[0]?.subject).toMatch(/^auditlock: \d+ finding\(s\) in /);
    expect(notifier.messages[0]?.body).toContain('LOG_TRUNCATED');
    // The next run finds it again: the state did not move past it.
    const again = await runScheduledVerification(deps({ primary: rolledBack }));
    expect(again.findingsByCode.LOG_TRUNCATED).toBeGreaterThan(0);
  });

  it('a replica without the newest segment holds the state back and is reported', async () => {
    const { fx, notifier, replica, deps } = await setup();
    await writeLog(fx, 40, 10);
    await replicate(fx.store, replica, [segmentKey('main', 3)]);
    const r = await runScheduledVerification(deps());
    expect(r.ok).toBe(false);
    expect(Object.keys(r.findingsByCode).every((c) => c.startsWith('REPLICA_'))).toBe(true);
    expect(notifier.messages[0]?.body).toMatch(/REPLICA_/);
    // Once replicated, the same run is clean.
    await replicate(fx.store, replica);
    const fixed = await runScheduledVerification(deps());
    expect(fixed.ok).toBe(true);
    expect(fixed.logs[0]).toMatchObject({ to: 40, witness: { ok: true, treeSize: 40 } });
  });

  it('stops at its time budget, cosigns what it verified, and the next run goes on', async () => {
    const { fx, replica, deps } = await setup();
    await writeLog(fx, 60, 10);
    await replicate(fx.store, replica);
    let left = 100_000;
    // Each question about the time costs 10 s of it, down to 20 s: the run stops partway through
    // the log, with time left to cosign what it verified.
    const budget = () => {
      left = Math.max(20_000, left - 10_000);
      return left;
    };
    const partial = await runScheduledVerification(deps({ timeLeftMs: budget, reserveMs: 40_000 }));
    expect(partial.complete).toBe(false);
    expect(partial.findings).toBe(0);
    const reached = partial.logs[0]?.to as number;
    expect(reached).toBeGreaterThan(0);
    expect(reached).toBeLessThan(60);
    const rest = await runScheduledVerification(deps());
    expect(rest.complete).toBe(true);
    expect(partial.logs[0]?.witness).toMatchObject({ ok: true, treeSize: reached });
    expect(rest.logs[0]).toMatchObject({ from: reached, to: 60, witness: { ok: true } });
  });

  it('two runs at once never cosign two heads of one size', async () => {
    const { fx, replica, state, deps } = await setup();
    await writeLog(fx, 30, 10);
    await replicate(fx.store, replica);
    const [a, b] = await Promise.all([
      runScheduledVerification(deps()),
      runScheduledVerification(deps()),
    ]);
    expect(a.ok && b.ok).toBe(true);
    expect(await cosigned(state)).toHaveLength(1);
  });
});
