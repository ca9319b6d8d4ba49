/**
 * A fault-injecting HTTP proxy for integration tests: listens on 127.0.0.1 (a free port), forwards
 * every request to a loopback emulator, and, per matching rule, answers with an error the SDK
 * must handle (S3 503 SlowDown, 500 InternalError, KMS ThrottlingException, 412, 409), drops
 * the connection (before or after the emulator acted on the request) or delays it. It counts
 * requests and injected faults, and in what order each request arrived, was forwarded and was
 * answered, so tests can assert that faults happened, what the client did about them, and what
 * happened first, without reading a clock. Randomness comes from a seeded generator: runs are
 * repeatable.
 *
 * The SigV4 `Host` header is forwarded unchanged; emulators do not check signatures, which is
 * also why this only works in front of an emulator, never real AWS.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

/** What a rule injects. */
export type FaultKind =
  /** S3 `503 SlowDown` (XML). */
  | 'slowDown'
  /** `500 InternalError` (S3 XML) or `KMSInternalException` (KMS JSON), by request type. */
  | 'internalError'
  /** KMS `400 ThrottlingException` (JSON `__type`). */
  | 'throttling'
  /** S3 `412 PreconditionFailed`, without forwarding. */
  | 'preconditionFailed'
  /** S3 `409 ConditionalRequestConflict`, without forwarding. */
  | 'conditionalConflict'
  /** S3 `403 AccessDenied` (XML) or KMS `AccessDeniedException` (JSON), by request type. */
  | 'accessDenied'
  /** Any S3 XML error answer (the rule's `status` and `code`), without forwarding. */
  | 's3Error'
  /** Destroys the client socket without forwarding. */
  | 'dropBeforeForward'
  /** Forwards, waits for the emulator's full answer, then destroys the client socket (a lost response). */
  | 'dropAfterForward'
  /** Waits `delayMs`, then forwards. */
  | 'delay'
  /**
   * Forwards the body with its middle byte flipped, as if damaged in transit: a target that
   * checks the request's checksum (S3's `x-amz-checksum-sha256`) must refuse it.
   */
  | 'corruptBody'
  /**
   * Holds each of the first `count` matching requests until all `count` have arrived (or
   * `delayMs` passed, default 10,000), then forwards them together: requests that race for
   * real, whatever the clients' timing.
   */
  | 'gather';

/** Injects `fault` into requests that match every given criterion. */
export type FaultRule = {
  readonly fault: FaultKind;
  /** HTTP method, e.g. `PUT`. */
  readonly method?: string;
  /** Tested against the request path with query, e.g. `/bucket/key?versionId=…`. */
  readonly path?: RegExp;
  /** Tested against `X-Amz-Target` (KMS: `TrentService.Sign`). */
  readonly target?: RegExp;
  /** Only requests carrying this header (case-insensitive name), e.g. `if-none-match`. */
  readonly hasHeader?: string;
  /** Chance that a matching request is hit, 0–1 (default 1). */
  readonly probability?: number;
  /** Hit at most this many requests (default: no limit). */
  readonly count?: number;
  /** For `delay`: milliseconds (default 1,000); for `gather`, the longest wait (default 10,000). */
  readonly delayMs?: number;
  /** For `s3Error`: the HTTP status (default 400) and the S3 error code (default `InvalidRequest`). */
  readonly status?: number;
  readonly code?: string;
};

/** One request the proxy saw. */
export type SeenRequest = {
  readonly method: string;
  readonly path: string;
  readonly target: string | undefined;
  /** The fault injected into it, if any. */
  readonly fault: FaultKind | undefined;
  /**
   * When it arrived, and when it was forwarded to the emulator: positions on one counter the
   * proxy advances at every arrival and every forward (`forwarded` is undefined until then, and
   * for requests answered or dropped without forwarding).
   */
  readonly arrived: number;
  readonly forwarded: number | undefined;
  /** The emulator's HTTP status, once it answered a forwarded request. */
  readonly status: number | undefined;
};

type Seen = { -readonly [K in keyof SeenRequest]: SeenRequest[K] };

export type FaultProxyOptions = {
  /** The emulator, e.g. `http://127.0.0.1:5000`; MUST be loopback http. */
  readonly upstream: string;
  readonly rules?: readonly FaultRule[];
  /** Seed of the generator behind `probability` (default 1). */
  readonly seed?: number;
  /**
   * Forward conditional PUTs (`If-None-Match`) to the same path one at a time. moto checks and
   * writes in separate steps, so concurrent conditional PUTs can all succeed there; AWS S3 makes
   * the check atomic. This restores the AWS behaviour in front of moto.
   */
  readonly serializeConditionalPuts?: boolean;
};

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_SEEN = 20_000;
const MAX_DELAY_MS = 30_000;

/** mulberry32: a small seeded PRNG, plenty for picking which requests fail. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isLoopbackHttp(url: URL): boolean {
  return (
    url.protocol === 'http:' &&
    (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]')
  );
}

const xml = (code: string, message: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>${randomUUID()}</RequestId></Error>`;

/** A running proxy. Create with {@link startFaultProxy}. */
export class FaultProxy {
  readonly url: string;
  readonly #server: Server;
  readonly #upstream: URL;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #locks = new Map<string, Promise<void>>();
  readonly #serialize: boolean;
  #rules: { rule: FaultRule; hits: number; held: (() => void)[] }[] = [];
  #random: () => number;
  #seen: Seen[] = [];
  #events = 0;
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(server: Server, upstream: URL, options: FaultProxyOptions) {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    this.url = `http://127.0.0.1:${address.port}`;
    this.#server = server;
    this.#upstream = upstream;
    this.#serialize = options.serializeConditionalPuts ?? false;
    this.#random = seededRandom(options.seed ?? 1);
    this.setRules(options.rules ?? []);
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      this.#inFlight++;
      this.#handle(req, res)
        .catch(() => {
          if (!res.headersSent) res.writeHead(502).end();
          else res.destroy();
        })
        .finally(() => {
          if (--this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
        });
    });
  }

  /** Replaces the rules and resets their hit counts (not the request log). */
  setRules(rules: readonly FaultRule[], seed?: number): void {
    this.#rules = rules.map((rule) => ({ rule, hits: 0, held: [] }));
    if (seed !== undefined) this.#random = seededRandom(seed);
  }

  /** Every request seen since the start or the last {@link clearLog}, oldest first. */
  get requests(): readonly SeenRequest[] {
    return this.#seen;
  }

  /** How many faults were injected, by kind, since the start or the last {@link clearLog}. */
  injected(): Partial<Record<FaultKind, number>> {
    const out: Partial<Record<FaultKind, number>> = {};
    for (const r of this.#seen) if (r.fault) out[r.fault] = (out[r.fault] ?? 0) + 1;
    return out;
  }

  /** Total faults injected since the start or the last {@link clearLog}. */
  injectedTotal(): number {
    return this.#seen.filter((r) => r.fault !== undefined).length;
  }

  clearLog(): void {
    this.#seen = [];
  }

  /**
   * Resolves once no request is in the proxy: everything that arrived has been answered or
   * dropped, and everything forwarded has had the emulator's answer (e.g. a request held by a
   * `delay` rule after its client gave up on it).
   */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops listening, ends open connections and pending delays. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    this.#agent.destroy();
    await closed;
  }

  #pick(req: IncomingMessage): { rule: FaultRule; hits: number; held: (() => void)[] } | undefined {
    const target = header(req, 'x-amz-target');
    for (const entry of this.#rules) {
      const { rule } = entry;
      if (rule.method !== undefined && rule.method !== req.method) continue;
      if (rule.path !== undefined && !rule.path.test(req.url ?? '')) continue;
      if (rule.target !== undefined && !rule.target.test(target ?? '')) continue;
      if (rule.hasHeader !== undefined && header(req, rule.hasHeader) === undefined) continue;
      if (rule.count !== undefined && entry.hits >= rule.count) continue;
      if (this.#random() >= (rule.probability ?? 1)) continue;
      entry.hits++;
      return entry;
    }
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) {
      res.writeHead(413).end();
      return;
    }
    const picked = this.#pick(req);
    const rule = picked?.rule;
    const fault = rule?.fault;
    const target = header(req, 'x-amz-target');
    const seen: Seen = {
      method: req.method ?? '',
      path: req.url ?? '',
      target,
      fault,
      arrived: this.#events++,
      forwarded: undefined,
      status: undefined,
    };
    if (this.#seen.length < MAX_SEEN) this.#seen.push(seen);
    const isKms = target !== undefined;
    switch (fault) {
      case 'slowDown':
        return sendXml(res, 503, xml('SlowDown', 'Please reduce your request rate.'));
      case 'internalError':
        if (isKms) return sendJson(res, 500, 'KMSInternalException', 'injected internal error');
        return sendXml(
          res,
          500,
          xml('InternalError', 'We encountered an internal error. Please try again.'),
        );
      case 'throttling':
        return sendJson(res, 400, 'ThrottlingException', 'Rate exceeded');
      case 'preconditionFailed':
        return sendXml(
          res,
          412,
          xml(
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold',
            '<Condition>If-None-Match</Condition>',
          ),
        );
      case 'conditionalConflict':
        return sendXml(
          res,
          409,
          xml(
            'ConditionalRequestConflict',
            'A conflicting conditional operation is in progress against this resource.',
          ),
        );
      case 's3Error':
        return sendXml(
          res,
          rule?.status ?? 400,
          xml(rule?.code ?? 'InvalidRequest', 'injected by the fault proxy'),
        );
      case 'accessDenied':
        if (isKms) return sendJson(res, 400, 'AccessDeniedException', 'injected: not authorized');
        return sendXml(res, 403, xml('AccessDenied', 'Access Denied'));
      case 'dropBeforeForward':
        req.socket.destroy();
        return;
      case 'delay':
        await this.#sleep(Math.min(rule?.delayMs ?? 1_000, MAX_DELAY_MS));
        break;
      case 'gather':
        if (picked) await this.#gather(picked);
        break;
    }
    const sent = fault === 'corruptBody' ? flipMiddleByte(body) : body;
    const upstream = await this.#forwardSerialized(req, sent, () => {
      seen.forwarded = this.#events++;
    });
    seen.status = upstream.status;
    if (fault === 'dropAfterForward') {
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return;
    res.writeHead(upstream.status, upstream.headers);
    res.end(upstream.body);
  }

  async #forwardSerialized(
    req: IncomingMessage,
    body: Buffer,
    onForward: () => void,
  ): Promise<Upstream> {
    const serial =
      this.#serialize && req.method === 'PUT' && header(req, 'if-none-match') !== undefined;
    if (!serial) {
      onForward();
      return this.#forward(req, body);
    }
    const path = (req.url ?? '').split('?')[0] ?? '';
    const previous = this.#locks.get(path) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = previous.then(() => mine);
    this.#locks.set(path, chained);
    await previous;
    try {
      onForward();
      return await this.#forward(req, body);
    } finally {
      release();
      if (this.#locks.get(path) === chained) this.#locks.delete(path);
    }
  }

  #forward(req: IncomingMessage, body: Buffer): Promise<Upstream> {
    return new Promise((resolve, reject) => {
      const out = request(
        {
          host: this.#upstream.hostname,
          port: this.#upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: this.#agent,
        },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.once('end', () =>
            resolve({
              status: up.statusCode ?? 502,
              headers: up.headers,
              body: Buffer.concat(chunks),
            }),
          );
          up.once('error', reject);
        },
      );
      out.once('error', reject);
      out.end(body);
    });
  }

  /** Waits until `count` requests are held by this rule (or its `delayMs`), then lets all go. */
  #gather(entry: { rule: FaultRule; held: (() => void)[] }): Promise<void> {
    return new Promise<void>((resolve) => {
      entry.held.push(resolve);
      if (entry.held.length >= (entry.rule.count ?? 1)) {
        for (const release of entry.held.splice(0)) release();
        return;
      }
      this.#sleep(Math.min(entry.rule.delayMs ?? 10_000, MAX_DELAY_MS)).then(resolve);
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }
}

type Upstream = { status: number; headers: IncomingMessage['headers']; body: Buffer };

/** A copy of `body` with its middle byte inverted (an empty body stays empty). */
function flipMiddleByte(body: Buffer): Buffer {
  const out = Buffer.from(body);
  const i = out.length >> 1;
  if (out.length > 0) out[i] = (out[i] ?? 0) ^ 0xff;
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** The whole request body, or `undefined` if it exceeds the bound. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.once('end', () => resolve(size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : undefined));
    req.once('error', reject);
  });
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': randomUUID() });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': randomUUID(),
  });
  res.end(JSON.stringify({ __type: type, message }));
}

/**
 * Starts a proxy on 127.0.0.1 (a free port) in front of `options.upstream`.
 * @throws Error if the upstream is not a loopback http URL
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  if (!isLoopbackHttp(upstream)) {
    throw new Error(`fault proxy only fronts a loopback http emulator, not ${options.upstream}`);
  }
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return new FaultProxy(server, upstream, options);
}
