/**
 * Freeing buffers now rather than at V8's next full collection. An ArrayBuffer's memory lives
 * outside the JavaScript heap and goes when its object is collected; one that outlived two minor
 * collections (a segment waiting to be checked, a batch of entries waiting to be stored) is
 * collected only by a full one, which V8 runs when the heap or this external memory has grown a
 * good deal: freed batches piled up to some 30 MiB during an ingest (docs/PERFORMANCE.md, ingest
 * memory). Transferring a buffer detaches it, and the new object that holds its memory is young
 * and unreferenced, so the next minor collection frees it.
 */

/**
 * Detaches each of `buffers` (every view of them then has length 0), freeing its memory at the
 * next minor collection. The caller MUST hold the only use of them. Empty and already detached
 * buffers, and any that are not plain ArrayBuffers, are left alone.
 */
export function freeNow(buffers: Iterable<ArrayBufferLike>): void {
  const own = new Set<ArrayBuffer>();
  for (const b of buffers) if (b instanceof ArrayBuffer && b.byteLength > 0) own.add(b);
  if (own.size === 0) return;
  const list = [...own];
  structuredClone(list, { transfer: list });
}
