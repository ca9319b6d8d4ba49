/**
 * A regular file's bytes, read in chunks into one buffer that every read reuses. A chunk is valid
 * only until the next one is asked for: readByteLines (src/app/byte-lines.ts) copies whatever it
 * keeps across chunks, and ingest copies each line into its batch before it asks for the next.
 * A ReadStream allocates a new buffer per chunk instead (1 MiB each here), one more source of the
 * allocator churn that kept ingest's RSS up (issue 14, docs/PERFORMANCE.md).
 *
 * Only for regular files, whose reads do not block: a stop (SIGINT, SIGTERM) is noticed between
 * two reads. Stdin and pipes stay streams, which a stop interrupts mid-read.
 */
import type { FileHandle } from 'node:fs/promises';

export class FileChunks implements AsyncIterable<Uint8Array> {
  readonly #handle: FileHandle;
  readonly #chunkBytes: number;
  #signal: AbortSignal | undefined;

  constructor(handle: FileHandle, chunkBytes: number) {
    this.#handle = handle;
    this.#chunkBytes = chunkBytes;
  }

  /** This file, read until `signal` fires (then the iteration ends before the next read). */
  until(signal: AbortSignal): this {
    this.#signal = signal;
    return this;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const buffer = new Uint8Array(this.#chunkBytes);
    for (;;) {
      if (this.#signal?.aborted) return;
      const { bytesRead } = await this.#handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  }

  /** Closes the file (once; later calls do nothing). */
  destroy(): void {
    this.#handle.close().catch(() => undefined);
  }
}
