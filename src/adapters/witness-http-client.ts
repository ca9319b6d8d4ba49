/**
 * {@link WitnessClient} over HTTP: `POST <submission prefix>/add-checkpoint` (c2sp.org/tlog-witness)
 * with Node's fetch (keep-alive connections, as the spec recommends). The answer body is read up
 * to 64 KiB; anything longer is cut off there, which no valid answer needs.
 */
import { StorageError } from '../core/errors.js';
import type { WitnessClient, WitnessResponse } from '../core/witness-protocol.js';

const MAX_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;

export class HttpWitnessClient implements WitnessClient {
  readonly description: string;
  readonly #url: string;
  readonly #timeoutMs: number;

  /**
   * @param prefix the witness's submission prefix, e.g. `http://127.0.0.1:8080` or
   *   `https://witness.example/w1`; `/add-checkpoint` is appended.
   * @throws StorageError `WITNESS_URL_INVALID` unless an http(s) URL.
   */
  constructor(prefix: string, options: { timeoutMs?: number } = {}) {
    let url: URL;
    try {
      url = new URL(prefix);
    } catch (cause) {
      throw new StorageError('WITNESS_URL_INVALID', `${prefix} is not a URL`, {
        retryable: false,
        cause,
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new StorageError('WITNESS_URL_INVALID', `${prefix} is not an http(s) URL`, {
        retryable: false,
      });
    this.#url = `${url.href.replace(/\/+$/, '')}/add-checkpoint`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.description = `witness ${url.href.replace(/\/+$/, '')}`;
  }

  /**
   * Sends one request.
   * @throws StorageError `WITNESS_UNREACHABLE` (retryable) when there is no answer.
   */
  async addCheckpoint(body: Uint8Array): Promise<WitnessResponse> {
    let res: Response;
    try {
      res = await fetch(this.#url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      throw new StorageError('WITNESS_UNREACHABLE', `${this.description}: no answer`, {
        retryable: true,
        cause,
      });
    }
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? undefined,
      body: await readBounded(res),
    };
  }
}

async function readBounded(res: Response): Promise<Uint8Array> {
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const out = new Uint8Array(Math.min(size, MAX_RESPONSE_BYTES));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, out.length - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}
