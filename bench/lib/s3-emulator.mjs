/**
 * The emulator the S3 benchmarks run against, and a proxy in front of it that counts requests,
 * can add latency and can stall chosen requests. Shared by bench/s3.mjs, bench/s3-parallel.mjs
 * and bench/pull.mjs.
 */
import { createHash } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';

/** The endpoint this process was started with (read before a moto started here overwrites it). */
const GIVEN_ENDPOINT = process.env.AWS_ENDPOINT_URL;

/**
 * A stall rule: requests of operation `op` (as counted, e.g. `S3 PutObject`, `KMS Sign`) are
 * held `ms` before they are forwarded. Which ones: with `every`, the requests numbered
 * `phase`, `phase + every`, … (0-based, counted from `setStalls`); with `fraction`, each with
 * that probability, drawn from a generator seeded with `seed` (the same request order stalls
 * the same requests).
 * @typedef {{ op: string, ms: number, every?: number, phase?: number, fraction?: number,
 *   seed?: number }} StallRule
 */

/**
 * A tiny HTTP proxy in front of the emulator that counts requests by service and operation, can
 * add a fixed latency to each, and can stall some (`setStalls`, for a slow put or signature as a
 * busy S3 or KMS gives). S3 operations are named from method and query (the SDK adds
 * `x-id=<Operation>` to object requests), KMS ones from `X-Amz-Target`.
 */
export async function startCountingProxy(upstream) {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const counts = new Map();
  /** Requests held by a stall rule, by operation. */
  const stalled = new Map();
  let latencyMs = 0;
  /** @type {{ rule: StallRule, hit: () => boolean }[]} */
  let stalls = [];
  const stallOf = (op) => {
    let ms = 0;
    for (const s of stalls) if (s.rule.op === op && s.hit()) ms = Math.max(ms, s.rule.ms);
    return ms;
  };
  const server = createServer((req, res) => {
    const op = operationOf(req);
    counts.set(op, (counts.get(op) ?? 0) + 1);
    const stallMs = stallOf(op);
    const delayMs = latencyMs + stallMs;
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const forward = () => {
        const out = request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
            agent,
          },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        out.on('error', () => res.destroy());
        out.end(Buffer.concat(chunks));
      };
      if (delayMs === 0) forward();
      else
        setTimeout(() => {
          // Counted once the hold is over: a stall that never held its request is not counted.
          if (stallMs > 0) stalled.set(op, (stalled.get(op) ?? 0) + 1);
          forward();
        }, delayMs);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    counts,
    stalled,
    reset: () => {
      counts.clear();
      stalled.clear();
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    /**
     * Replaces the stall rules (an empty list stalls nothing) and restarts their request numbering.
     * @param {readonly StallRule[]} rules
     * @throws Error for a rule with neither a positive `every` nor a `fraction` in [0, 1]
     */
    setStalls: (rules) => {
      stalls = rules.map((rule) => ({ rule, hit: stallPicker(rule) }));
    },
    stop: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * How many of the first `requests` requests of operation `op` the stall `rules` hold: what a proxy
 * given these rules by `setStalls` should count in `stalled`, for a caller to check that the stalls
 * it asked for happened.
 * @param {readonly StallRule[]} rules
 * @throws Error for a malformed rule, as `setStalls`
 */
export function expectedStalls(rules, op, requests) {
  const pickers = rules.filter((r) => r.op === op && r.ms > 0).map(stallPicker);
  let held = 0;
  for (let n = 0; n < requests; n++) {
    // Every picker draws for every request, as in the proxy, so a seeded one stays in step.
    let hit = false;
    for (const p of pickers) hit = p() || hit;
    if (hit) held++;
  }
  return held;
}

/**
 * Whether each next request (in order) is held by `rule`: the proxy and
 * {@link expectedStalls} both decide through this, so they cannot disagree.
 * @param {StallRule} rule
 * @throws Error for a rule with neither a positive `every` nor a `fraction` in [0, 1]
 */
function stallPicker(rule) {
  const byPattern = Number.isInteger(rule.every) && rule.every > 0;
  const byChance = typeof rule.fraction === 'number' && rule.fraction >= 0 && rule.fraction <= 1;
  if (byPattern === byChance || !(rule.ms >= 0))
    throw new Error(
      `stall rule needs ms >= 0 and one of every > 0 or fraction in [0, 1]: got ${JSON.stringify(rule)}`,
    );
  let seen = 0;
  if (byPattern) {
    const phase = (rule.phase ?? 0) % rule.every;
    return () => seen++ % rule.every === phase;
  }
  const random = seededRandom(rule.seed ?? 1);
  return () => random() < rule.fraction;
}

function operationOf(req) {
  const kms = req.headers['x-amz-target'];
  if (typeof kms === 'string') return `KMS ${kms.split('.').pop()}`;
  const url = new URL(req.url ?? '/', 'http://x');
  const q = url.searchParams;
  const xId = q.get('x-id');
  if (xId) return `S3 ${xId}`;
  const hasKey = url.pathname.split('/').filter(Boolean).length > 1;
  if (req.method === 'GET' && q.has('versions')) return 'S3 ListObjectVersions';
  if (req.method === 'GET' && q.get('list-type') === '2') return 'S3 ListObjectsV2';
  if (req.method === 'GET' && q.has('versioning')) return 'S3 GetBucketVersioning';
  if (req.method === 'GET' && q.has('object-lock')) return 'S3 GetObjectLockConfiguration';
  if (req.method === 'HEAD') return hasKey ? 'S3 HeadObject' : 'S3 HeadBucket';
  if (req.method === 'GET' && hasKey) return 'S3 GetObject';
  if (req.method === 'PUT' && hasKey) return 'S3 PutObject';
  return `S3 ${req.method} ${url.pathname.split('/').length > 2 ? 'object' : 'bucket'}`;
}

/**
 * Numbers in [0, 1) from SHA-256 of seed and counter: a pattern drawn by chance (stalls, the
 * producer's pauses) repeats from run to run.
 */
export function seededRandom(seed) {
  let n = 0;
  return () => createHash('sha256').update(`${seed}:${n++}`).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * The emulator: AWS_ENDPOINT_URL as the process was started with, if it is a loopback one
 * (`shared: true`: every call returns it, with what earlier runs stored), else a moto started here
 * (a fresh, empty one on every call).
 */
export async function startEmulator() {
  const given = GIVEN_ENDPOINT;
  if (given && /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(given)) {
    return {
      endpoint: given.replace(/\/$/, ''),
      version: 'as given',
      shared: true,
      stop: async () => {},
    };
  }
  const { applyMotoEnv, ensureMoto, startMoto, pinnedMotoVersion } = await import(
    '../../scripts/moto.mjs'
  );
  await ensureMoto();
  const moto = await startMoto();
  applyMotoEnv(process.env, moto.endpoint);
  return {
    endpoint: moto.endpoint,
    version: `moto ${pinnedMotoVersion()}`,
    shared: false,
    stop: moto.stop,
  };
}

/** The AWS SDK's Node 20 support notice would clutter the report. */
export function quietSdkNodeWarning() {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name === 'NodeVersionSupportWarning' || w.message.startsWith('NodeVersionSupportWarning'))
      return;
    for (const l of listeners) l(w);
  });
}
