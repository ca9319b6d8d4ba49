/**
 * A folder store with sealed fields (FORMAT.md §11) for tests: a folder key store, a local
 * wrapping key, SubjectKeys, and JSON Lines ingested through the real sealing step.
 */
import { join } from 'node:path';
import { FolderKeyStore } from '../../src/adapters/folder-key-store.js';
import { FolderStore } from '../../src/adapters/folder-store.js';
import { LocalKeyWrapper } from '../../src/adapters/local-key-wrapper.js';
import { ingestJsonLines } from '../../src/app/ingest.js';
import { sealingSubmit } from '../../src/app/seal-submit.js';
import { SubjectKeys } from '../../src/app/subject-keys.js';
import { parseSealConfig, type SealConfig } from '../../src/core/sealed-config.js';
import { logFixture, makeKey } from './log-fixture.js';

/** actor.id is the subject; its id, name, IP and user agent are sealed. */
export const ACTOR_SEAL_CONFIG: SealConfig = parseSealConfig({
  v: 1,
  subject: 'actor.id',
  fields: [
    { path: 'actor.id' },
    { path: 'actor.name' },
    { path: 'source.ip' },
    { path: 'source.userAgent' },
  ],
});

export type SealedFixture = Awaited<ReturnType<typeof sealedFixture>>;

/** A new store, key store and wrapping key under `dir`. */
export async function sealedFixture(dir: string) {
  const store = new FolderStore(join(dir, 'store'));
  await store.openForWriting();
  const keyStore = await FolderKeyStore.create(join(dir, 'keys'));
  const wrapper = await LocalKeyWrapper.createFile(join(dir, 'wrap.key'));
  const keys = await SubjectKeys.open({ store: keyStore, wrapper, create: true });
  const fx = logFixture(store, makeKey());
  return { store, keyStore, wrapper, keys, fx };
}

/** Ingests `lines` sealed under `config`, `perSegment` events per segment. */
export async function ingestSealed(
  s: SealedFixture,
  lines: readonly string[],
  config: SealConfig = ACTOR_SEAL_CONFIG,
  perSegment = 2,
) {
  const archiver = await s.fx.open({ maxEvents: perSegment });
  try {
    return await ingestJsonLines({
      archiver,
      input: (async function* () {
        yield `${lines.join('\n')}\n`;
      })(),
      inputName: 'events.jsonl',
      seal: sealingSubmit(archiver, config, s.keys),
    });
  } finally {
    await archiver.close().catch(() => undefined);
  }
}
