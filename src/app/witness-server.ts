/**
 * The tlog-witness HTTP endpoint (https://c2sp.org/tlog-witness) over node:http: `POST
 * /add-checkpoint` only. Request bodies are capped at 16 KiB like the reference witness (413
 * beyond); the answer is what the witness use case decides (200 cosignature lines, 400, 403, 404,
 * 409 `text/x.tlog.size`, 422), 503 for a transient storage or signer failure, 500 otherwise.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StorageError } from '../core/errors.js';
import { MAX_REQUEST_BYTES, type WitnessClient } from '../core/witness-protocol.js';

export type WitnessServer = {
  /** `http://host:port`, the submission prefix. */
  readonly url: string;
  close(): Promise<void>;
};

export type ServeOptions = {
  /** `127.0.0.1:8080`, `[::1]:0` (port 0: any free port). */
  readonly listen: string;
  /** Called once per request, for logs. */
  readonly onRequest?: ((r: { status: number; ms: number; error?: unknown }) => void) | undefined;
};

/**
 * Starts serving `witness` and resolves once listening.
 * @throws StorageError `LISTEN_FAILED` if the address cannot be bound; `LISTEN_INVALID` if it is
 *   not `host:port`.
 */
export async function serveWitness(
  witness: WitnessClient,
  opts: ServeOptions,
): Promise<WitnessServer> {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):([0-9]{1,5})$/.exec(opts.listen);
  if (!m || Number(m[2]) > 65535)
    throw new StorageError('LISTEN_INVALID', `--listen must be host:port, got ${opts.listen}`, {
      retryable: false,
    });
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  const server = createServer({ keepAlive: true }, (req, res) => {
    const started = performance.now();
    void handle(witness, req, res).then(
      (status) => opts.onRequest?.({ status, ms: performance.now() - started }),
      (error: unknown) => opts.onRequest?.({ status: 500, ms: performance.now() - started, error }),
    );
  });
  // A request is one small body: a client that trickles it is cut off instead of holding a socket.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) =>
      reject(
        new StorageError('LISTEN_FAILED', `cannot listen on ${opts.listen}`, {
          retryable: false,
          cause,
        }),
      ),
    );
    server.listen(Number(m[2]), host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  witness: WitnessClient,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<number> {
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/add-checkpoint') return reply(res, 404, 'not found\n');
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return reply(res, 405, 'use POST\n');
  }
  const body = await readBody(req);
  if (body === undefined)
    return reply(res, 413, `request body larger than ${MAX_REQUEST_BYTES} bytes\n`);
  try {
    const answer = await witness.addCheckpoint(body);
    if (answer.contentType) res.setHeader('content-type', answer.contentType);
    res.statusCode = answer.status;
    res.end(answer.body);
    return answer.status;
  } catch (err) {
    const status = err instanceof StorageError && err.retryable ? 503 : 500;
    reply(res, status, 'internal error\n');
    throw err;
  }
}

/** The whole body, or undefined once it passes the cap (the rest is drained, not buffered). */
function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, text: string): number {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(text);
  return status;
}
