/**
 * Reusing large buffers instead of allocating one per batch (issue 14). Ingest moves two buffers
 * of a few hundred KiB per batch of 256 lines between threads: the lines, and the entries made of
 * them. Allocated anew for each batch and freed when it was stored, they churned through the C
 * allocator, which then kept tens of MiB of freed memory mapped (peak RSS fell by 11-20 MiB when
 * glibc was told to return such blocks at once, docs/PERFORMANCE.md). A pool keeps the ones it
 * is given back and hands them out again, so a run reaches a steady set of buffers.
 */
import { freeNow } from './free-buffers.js';

export class BufferPool {
  readonly #spare: ArrayBuffer[] = [];
  readonly #size: number;
  readonly #keep: number;

  /**
   * @param size bytes of a buffer the pool makes, and the least it keeps
   * @param keep spare buffers kept at most; more given back are freed
   */
  constructor(size: number, keep: number) {
    this.#size = size;
    this.#keep = keep;
  }

  /** Spare buffers held now. */
  get spare(): number {
    return this.#spare.length;
  }

  /**
   * A buffer of at least `bytes` (and at least the pool's size): the last one given back if it is
   * large enough; else a new one, with an eighth more room so that the next requests, which vary
   * a little from batch to batch, fit in it (a spare too small for this request is freed).
   */
  take(bytes = this.#size): Uint8Array {
    const last = this.#spare.pop();
    if (last !== undefined) {
      if (last.byteLength >= bytes) return new Uint8Array(last);
      freeNow([last]);
    }
    const want = Math.max(bytes, this.#size);
    return new Uint8Array(want === this.#size ? want : roundUp(want + want / 8, 64 * 1024));
  }

  /**
   * Gives `buffer` back. The caller MUST hold no view of it that is still used: the pool hands it
   * out again, and whoever takes it overwrites it. One of an unusual size is freed instead
   * (smaller than the pool's buffers, or more than 4 times their size: grown for a long line).
   */
  give(buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
    const usual = buffer.byteLength >= this.#size && buffer.byteLength <= 4 * this.#size;
    if (usual && this.#spare.length < this.#keep) this.#spare.push(buffer);
    else freeNow([buffer]);
  }
}

function roundUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit;
}
