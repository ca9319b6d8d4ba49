/**
 * Issue 14: how many segments one writer writes, and what its requests cost, when S3 puts and KMS
 * signatures stall and the producer pauses. Used by bench/s3.mjs.
 *
 * Each case is one archiver writing the same events through the counting proxy, on an emulator of
 * its own (moto gets slow and memory-hungry beyond ~100,000 stored events):
 * - stalls: every k-th PutObject and a seeded fraction of KMS Sign requests are held longer than
 *   the age limit (`setStalls`), as a busy S3 or KMS would hold them;
 * - pauses: the producer sleeps longer than the age limit before a few seeded event numbers, so
 *   the partly filled segment is sealed by age. Each pause may cost one partial segment.
 * Stalls alone leave the segment count alone with a fast producer: the buffer is full again long
 * before a stalled put returns. The pauses are what reach the age timer.
 *
 * The case checks (throws) that the proxy held the requests the rules picked, that the held time
 * shows in the run's wall time, and that every event is in a stored segment.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { expectedStalls, seededRandom, startCountingProxy, startEmulator } from './s3-emulator.mjs';

const PUT = 'S3 PutObject';
const SIGN = 'KMS Sign';
/** About this many puts and signatures held per case, whatever the segment size. */
const STALLS_PER_OP = 8;

/**
 * The stall rules for a run expected to write `segments` segments: about {@link STALLS_PER_OP}
 * PUTs (every k-th, from the second) and as many Signs (by seeded chance), each held `ms`.
 */
export function stallRules(segments, ms, seed = 14) {
  const every = Math.max(3, Math.round(segments / STALLS_PER_OP));
  return [
    { op: PUT, ms, every, phase: 1 },
    { op: SIGN, ms, fraction: Math.min(1, STALLS_PER_OP / segments), seed },
  ];
}

/**
 * `count` distinct event numbers in [1, events), drawn from `seed`, ascending: the producer
 * pauses before submitting each.
 */
export function pausePoints(events, count, seed = 14) {
  const random = seededRandom(seed);
  const points = new Set();
  while (points.size < Math.min(count, events - 1))
    points.add(1 + Math.floor(random() * (events - 1)));
  return [...points].sort((a, b) => a - b);
}

/**
 * Writes `events` through one archiver with `maxEvents` per segment (other limits default),
 * stalling requests by `stalls` and pausing `pauseMs` before each of `pauses`.
 * @param {object} dist the built modules bench/s3.mjs loaded (Archiver, S3Store, …)
 * @throws Error if a stall the rules asked for did not happen, or an event was not stored
 */
export async function runStallCase(dist, { events, maxEvents, stalls, pauses, pauseMs }) {
  const region = 'us-east-1';
  const emulator = await startEmulator();
  const proxy = await startCountingProxy(emulator.endpoint);
  try {
    const bucket = `auditlock-stalls-${randomBytes(4).toString('hex')}`;
    const direct = { region, endpoint: emulator.endpoint };
    const viaProxy = { region, endpoint: proxy.url };
    await dist
      .createS3Client(direct)
      .send(new dist.CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    const key = await dist
      .createKmsClient(direct)
      .send(new dist.CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    const store = new dist.S3Store({
      client: dist.createS3Client(viaProxy),
      bucket,
      prefix: 'stalls',
      retention: { days: 1 },
    });
    const signer = new dist.KmsSigner({
      client: dist.createKmsClient(viaProxy),
      keyId: key.KeyMetadata.KeyId,
    });
    proxy.reset();
    proxy.setStalls(stalls);
    const sizes = [];
    const started = performance.now();
    const archiver = await dist.Archiver.open({
      store,
      signer,
      clock: dist.systemClock,
      log: 'main',
      origin: 'bench.auditlock.local/s3-stalls',
      maxEvents,
      onStored: (info) => sizes.push(info.entries),
    });
    const receipts = [];
    let next = 0;
    for (let i = 0; i < events.length; i++) {
      if (pauses[next] === i) {
        next++;
        await new Promise((r) => setTimeout(r, pauseMs));
      }
      receipts.push((await archiver.submit(events[i])).stored);
    }
    await archiver.close();
    const stored = await Promise.all(receipts);
    const wallMs = performance.now() - started;
    const counts = new Map(proxy.counts);
    const held = { put: proxy.stalled.get(PUT) ?? 0, sign: proxy.stalled.get(SIGN) ?? 0 };

    // A stall that silently did nothing must not pass as a run with stalls.
    const want = {
      put: expectedStalls(stalls, PUT, counts.get(PUT) ?? 0),
      sign: expectedStalls(stalls, SIGN, counts.get(SIGN) ?? 0),
    };
    if (held.put !== want.put || held.sign !== want.sign)
      throw new Error(
        `stalls: the proxy held ${held.put} PUTs and ${held.sign} Signs, the rules picked ${want.put} and ${want.sign}`,
      );
    // Segments are sealed one at a time, so the holds add up in the wall time.
    const heldMs = stalls.reduce(
      (s, r) => s + r.ms * (r.op === PUT ? held.put : r.op === SIGN ? held.sign : 0),
      0,
    );
    if (wallMs < heldMs)
      throw new Error(`stalls: held ${heldMs} ms in all, but the run took ${wallMs.toFixed(0)} ms`);
    const inSegments = sizes.reduce((s, n) => s + n, 0);
    const last = stored[stored.length - 1];
    if (inSegments !== events.length || last?.treeSize !== events.length)
      throw new Error(
        `stored ${inSegments} events in segments (tree size ${last?.treeSize}), submitted ${events.length}`,
      );
    return {
      events: events.length,
      maxEvents,
      pauses: pauses.length,
      segments: sizes.length,
      // The last segment is partial whenever events is no multiple of maxEvents; any other
      // partial one was sealed by age (or by the byte limit, not reached with ~1 KB events).
      early: sizes.slice(0, -1).filter((n) => n < maxEvents).length,
      /** Where the partial segments are: [segment number, events] in write order. */
      partials: sizes.flatMap((n, i) => (n < maxEvents ? [[i, n]] : [])),
      counts,
      held,
      heldMs,
      wallMs,
      emulator: emulator.version,
      fresh: !emulator.shared,
    };
  } finally {
    await proxy.stop();
    await emulator.stop();
  }
}

/**
 * The markdown section for the cases' results.
 * @param {{ cases: object[], events: number, priceOf: (op: string) => number,
 *   defaultMaxEvents: number, targetPerMillion: number, stallMs: number, pauseMs: number,
 *   maxAgeMs: number, pauseAt: number[], stallsOf: Map<number, object[]>, emulator: string,
 *   fresh: boolean,
 *   measuredAt: string, machine: string, loadBefore: string, loadAfter: string,
 *   command: string }} r
 */
export function formatStalls(r) {
  const usd = (x) => (x >= 0.01 ? `$${x.toFixed(4)}` : `$${x.toFixed(5)}`);
  const mark = (ok) => (ok ? 'met' : '**missed**');
  const int = (n) => n.toLocaleString('en-US');
  const rows = r.cases.map((c) => {
    const ideal = Math.ceil(c.events / c.maxEvents);
    const extra = c.segments - ideal;
    const perM = (n) => (n / c.events) * 1_000_000;
    const cost = [...c.counts].reduce((s, [op, n]) => s + perM(n) * r.priceOf(op), 0);
    return { ...c, ideal, extra, excess: (extra / ideal) * 100, cost };
  });
  const defaults = rows.filter((c) => c.maxEvents === r.defaultMaxEvents);
  const calm = defaults.filter((c) => c.pauses === 0);
  const stalled = defaults.filter((c) => c.held.put + c.held.sign > 0);
  const paused = defaults.filter((c) => c.pauses > 0);
  const label = (c) => (c.held.put + c.held.sign > 0 ? 'with stalls' : 'without stalls');
  const verdicts = [
    `Segments within 5% of ceil(events / maxEvents) at the default ${int(r.defaultMaxEvents)}, without pauses: ${calm.map((c) => `${c.excess.toFixed(1)}% ${label(c)}`).join(', ')} (${mark(calm.length > 0 && calm.every((c) => c.excess <= 5))}).`,
    ...paused.map(
      (c) =>
        `The same with ${c.pauses} pauses and stalls: ${c.excess.toFixed(1)}% (${mark(c.excess <= 5)}); at ${c.ideal} segments per run each pause may add ${(100 / c.ideal).toFixed(1)}%, so ${c.pauses} pauses may add up to ${((100 * c.pauses) / c.ideal).toFixed(1)}%: over a longer run with the same pauses the excess shrinks in proportion.`,
    ),
    `With P pauses at most P extra segments, every size: ${rows
      .filter((c) => c.pauses > 0)
      .map((c) => `${c.extra} extra with ${c.pauses} pauses at ${int(c.maxEvents)}`)
      .join(
        ', ',
      )} (${mark(rows.every((c) => c.extra <= c.pauses))}); at most one partial segment before the last per pause, none without: ${rows.map((c) => `${c.early} with ${c.pauses}`).join(', ')} (${mark(rows.every((c) => c.early <= c.pauses))}). A partial segment adds one to the count only once the events it left out add up, over the run, to more than the room left in the last segment (ceil(events / maxEvents) × maxEvents − events), so the extra count depends on where the pauses fall; fewer partial segments than pauses are possible too: a pause that falls while a stalled segment is being stored can end before the age timer is armed, and the producer then refills the buffer first.`,
    `Requests at most $${r.targetPerMillion} per million events at the default segment size with stalls: ${stalled.map((c) => `${usd(c.cost)} with ${c.pauses} pauses`).join(', ')} (${mark(stalled.length > 0 && stalled.every((c) => c.cost <= r.targetPerMillion))}).`,
  ];
  const rulesText = (m) =>
    r.stallsOf
      .get(m)
      .map((s) =>
        s.every !== undefined
          ? `${s.op} number ${s.phase + 1}, ${s.phase + 1 + s.every}, … (every ${s.every})`
          : `each ${s.op} with probability ${s.fraction.toFixed(3)} (seed ${s.seed})`,
      )
      .join(', ');
  const sizesSeen = [...new Set(rows.map((c) => c.maxEvents))];
  const atDefault = Math.ceil(r.events / r.defaultMaxEvents);
  return [
    '### Segments per run and cost, with stalls and pauses',
    '',
    `Measured ${r.measuredAt} (${r.machine}; load average ${r.loadBefore} before, ${r.loadAfter} after these runs), ${r.command}.`,
    `One writer per row, each on ${r.fresh ? `a fresh ${r.emulator}` : 'the given emulator (a new bucket each)'} through the counting proxy, ${int(r.events)} events each; the archiver's defaults (8 MiB, ${r.maxAgeMs} ms age limit) except maxEvents. Stalls, each held ${r.stallMs} ms (longer than the age limit): ${sizesSeen.map((m) => `at ${int(m)}, ${rulesText(m)}`).join('; ')}. Pauses: the producer sleeps ${r.pauseMs} ms before submitting event ${r.pauseAt.map(int).join(', ')} (0-based, seeded). Each run checks that the proxy held exactly the requests its rules picked, that the holds show in its wall time, and that every event was stored.`,
    '',
    '| maxEvents | Stalls (PUT + Sign held) | Pauses P | Events | Segments | ceil(events / maxEvents) | Extra | Excess | Partial segments before the last | PUTs / segment | Signs / segment | Requests, $ per million events | Wall time |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (c) =>
        `| ${int(c.maxEvents)} | ${c.held.put + c.held.sign > 0 ? `${c.held.put} + ${c.held.sign}` : 'none'} | ${c.pauses} | ${int(c.events)} | ${c.segments} | ${c.ideal} | ${c.extra} | ${c.excess.toFixed(1)}% | ${c.early} | ${((c.counts.get(PUT) ?? 0) / c.segments).toFixed(2)} | ${((c.counts.get(SIGN) ?? 0) / c.segments).toFixed(2)} | ${usd(c.cost)} | ${(c.wallMs / 1000).toFixed(1)} s |`,
    ),
    '',
    ...verdicts.map((v) => `- ${v}`),
    '',
    `The cost column prices every request of the run at the prices assumed above, the writer start included. The $${r.targetPerMillion} target is for the default segment size; smaller segments cost more per event by design (a PUT, a Sign and a HEAD per segment). They run here for resolution: ${int(r.events)} events make only ${atDefault} segments at ${int(r.defaultMaxEvents)}, where one extra segment is already ${(100 / atDefault).toFixed(1)}%.`,
    '',
  ].join('\n');
}
