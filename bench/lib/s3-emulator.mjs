/**
 * The emulator the S3 benchmarks run against, and a proxy in front of it that counts requests
 * and can add latency. Shared by bench/s3.mjs and bench/s3-parallel.mjs.
 */
import { Agent, createServer, request } from 'node:http';

/**
 * A tiny HTTP proxy in front of the emulator that counts requests by service and operation and
 * can add a fixed latency to each. S3 operations are named from method and query (the SDK adds
 * `x-id=<Operation>` to object requests), KMS ones from `X-Amz-Target`.
 */
export async function startCountingProxy(upstream) {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const counts = new Map();
  let latencyMs = 0;
  const server = createServer((req, res) => {
    const op = operationOf(req);
    counts.set(op, (counts.get(op) ?? 0) + 1);
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
      if (latencyMs > 0) setTimeout(forward, latencyMs);
      else forward();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    counts,
    reset: () => counts.clear(),
    setLatency: (ms) => {
      latencyMs = ms;
    },
    stop: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
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

/** The emulator: AWS_ENDPOINT_URL if it is a loopback one, else a moto started here. */
export async function startEmulator() {
  const given = process.env.AWS_ENDPOINT_URL;
  if (given && /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(given)) {
    return { endpoint: given.replace(/\/$/, ''), version: 'as given', stop: async () => {} };
  }
  const { applyMotoEnv, ensureMoto, startMoto, pinnedMotoVersion } = await import(
    '../../scripts/moto.mjs'
  );
  await ensureMoto();
  const moto = await startMoto();
  applyMotoEnv(process.env, moto.endpoint);
  return { endpoint: moto.endpoint, version: `moto ${pinnedMotoVersion()}`, stop: moto.stop };
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
