/**
 * FolderKeyStore and LocalKeyWrapper: create-if-absent (one winner among concurrent creators),
 * destroy (only the named key id; the file is gone and its bytes overwritten first), unreadable
 * or malformed stores with codes; wrapping bound to the key's name and id.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderKeyStore } from '../../src/adapters/folder-key-store.js';
import { LocalKeyWrapper } from '../../src/adapters/local-key-wrapper.js';
import { newKeyId, SubjectKeys } from '../../src/app/subject-keys.js';

const U = 'a'.repeat(64);
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auditlock-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = () => ({ keyId: newKeyId(), wrapped: new Uint8Array(randomBytes(60)) });

describe('FolderKeyStore', () => {
  it('creates a key once: concurrent creators all get the winner', async () => {
    const store = await FolderKeyStore.create(join(dir, 'k'));
    const tries = Array.from({ length: 8 }, key);
    const got = await Promise.all(tries.map((k) => store.createIfAbsent(U, k)));
    const winner = got[0];
    for (const g of got) expect(g).toEqual(winner);
    expect(tries.map((t) => t.keyId)).toContain(winner?.keyId);
    expect(await store.get(U)).toEqual(winner);
    // No temp files left behind.
    expect(await readdir(join(dir, 'k', '.tmp'))).toEqual([]);
  });

  it('destroys only the named key id, and the file is gone', async () => {
    const store = await FolderKeyStore.create(join(dir, 'k'));
    const k = key();
    await store.createIfAbsent(U, k);
    expect(await store.destroy(U, newKeyId())).toBe(false);
    expect(await store.get(U)).toEqual(k);
    expect(await store.destroy(U, k.keyId)).toBe(true);
    expect(await store.get(U)).toBeUndefined();
    expect(await readdir(join(dir, 'k'))).toEqual(['.tmp']);
    expect(await store.destroy(U, k.keyId)).toBe(false);
  });

  it('refuses a missing folder, a bad name and a malformed key file with codes', async () => {
    await expect(FolderKeyStore.open(join(dir, 'none'))).rejects.toMatchObject({
      code: 'KEY_STORE_UNAVAILABLE',
    });
    const store = await FolderKeyStore.create(join(dir, 'k'));
    await expect(store.get('../etc/passwd')).rejects.toMatchObject({ code: 'KEY_NAME_INVALID' });
    await writeFile(join(dir, 'k', `${U}.key`), '{"v":1,"keyId":"x","wrapped":"AA=="}');
    await expect(store.get(U)).rejects.toMatchObject({ code: 'KEY_STORE_INVALID' });
    await rm(join(dir, 'k'), { recursive: true });
    await expect(store.createIfAbsent(U, key())).rejects.toMatchObject({
      code: 'KEY_STORE_UNAVAILABLE',
    });
  });
});

describe('LocalKeyWrapper', () => {
  it('unwraps only for the name and key id it wrapped for', async () => {
    const w = await LocalKeyWrapper.createFile(join(dir, 'wrap.key'));
    const ctx = { name: U, keyId: newKeyId() };
    const { plaintext, wrapped } = await w.generate(ctx);
    expect(plaintext.length).toBe(32);
    expect(await w.unwrap(wrapped, ctx)).toEqual(plaintext);
    await expect(w.unwrap(wrapped, { ...ctx, name: 'b'.repeat(64) })).rejects.toMatchObject({
      code: 'KEY_UNWRAP_FAILED',
    });
    await expect(w.unwrap(wrapped, { ...ctx, keyId: newKeyId() })).rejects.toMatchObject({
      code: 'KEY_UNWRAP_FAILED',
    });
    const other = await LocalKeyWrapper.createFile(join(dir, 'other.key'));
    await expect(other.unwrap(wrapped, ctx)).rejects.toMatchObject({ code: 'KEY_UNWRAP_FAILED' });
    const again = await LocalKeyWrapper.fromFile(join(dir, 'wrap.key'));
    expect(await again.unwrap(wrapped, ctx)).toEqual(plaintext);
  });

  it('never overwrites a key file, and refuses a bad one', async () => {
    await LocalKeyWrapper.createFile(join(dir, 'wrap.key'));
    const before = await readFile(join(dir, 'wrap.key'), 'utf8');
    await expect(LocalKeyWrapper.createFile(join(dir, 'wrap.key'))).rejects.toMatchObject({
      code: 'WRAP_KEY_EXISTS',
    });
    expect(await readFile(join(dir, 'wrap.key'), 'utf8')).toBe(before);
    await writeFile(join(dir, 'short.key'), 'AAAA\n');
    await expect(LocalKeyWrapper.fromFile(join(dir, 'short.key'))).rejects.toMatchObject({
      code: 'WRAP_KEY_INVALID',
    });
    await expect(LocalKeyWrapper.fromFile(join(dir, 'none.key'))).rejects.toMatchObject({
      code: 'WRAP_KEY_INVALID',
    });
  });
});

describe('SubjectKeys', () => {
  it('needs an initialised store to read, and caches keys for cacheMs', async () => {
    const store = await FolderKeyStore.create(join(dir, 'k'));
    const wrapper = await LocalKeyWrapper.createFile(join(dir, 'wrap.key'));
    await expect(SubjectKeys.open({ store, wrapper })).rejects.toMatchObject({
      code: 'PSEUDONYM_KEY_MISSING',
    });
    let now = 0;
    const writer = await SubjectKeys.open({ store, wrapper, create: true, now: () => now });
    const reader = await SubjectKeys.open({ store, wrapper, now: () => now, cacheMs: 1000 });
    expect(reader.pseudonymOf('x')).toBe(writer.pseudonymOf('x'));
    const created = await writer.sealingKey(U);
    expect(await reader.readingKey(U)).toEqual(created);
    expect(await writer.erase(U)).toBe(created.keyId);
    // The reader's cached key is still served until cacheMs has passed, then it is gone.
    expect(await reader.readingKey(U)).toEqual(created);
    now = 1000;
    expect(await reader.readingKey(U)).toBeUndefined();
    expect(await writer.erase(U)).toBeUndefined();
  });
});
