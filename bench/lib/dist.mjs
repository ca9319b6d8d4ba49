/**
 * The built package, as the benchmarks use it: everything is imported from `dist/`, so the numbers
 * are those of the code that ships. `npm run bench` builds first. To compare a candidate change,
 * point `AUDITLOCK_BENCH_DIST` at another build (a copy of `dist/` with the change) and run a
 * section script, e.g. `AUDITLOCK_BENCH_DIST=/tmp/x/dist node bench/stages.mjs`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DIST_URL, loadDist as load } from './dist-url.mjs';

if (!existsSync(fileURLToPath(new URL('app/archiver.js', DIST_URL)))) {
  throw new Error(
    `no build in ${fileURLToPath(DIST_URL)}: run \`npm run build\` (or \`npm run bench\`)`,
  );
}

export const { Archiver } = await load('app/archiver.js');
export const { verifyStore } = await load('app/verify.js');
export const { FolderStore } = await load('adapters/folder-store.js');
export const { MemoryStore } = await load('adapters/memory-store.js');
export const { LocalSigner } = await load('adapters/local-signer.js');
export const { generateKeyPair } = await load('adapters/keys.js');
export const { systemClock } = await load('adapters/system-clock.js');
export const { parseEventLine, parseEvent } = await load('core/event.js');
export const { parseEventBytes } = await load('core/event-line.js');
export const { INPUT_CHAIN_START, nextInputChain, formatInputDeliveryId } =
  await load('core/input-delivery.js');
export const { makeEventEntry, encodeEntry, decodeEntry } = await load('core/entry.js');
export const { canonicalize } = await load('core/canonical-json.js');
export const { checkEntryBytes } = await load('core/entry-check.js');
export const { parseSegment } = await load('core/segment.js');
export const { decodeBody, splitEntries } = await load('core/body-codec.js');
export const { hashLeaf, hashChildren } = await load('core/merkle.js');
export const { CompactRange } = await load('core/compact-range.js');
export const hashModule = await load('core/hash.js');
