/**
 * The temp area of a {@link FolderStore} (`<root>/.tmp/`): how temp files are named, and which
 * leftovers of killed writers are safe to remove.
 *
 * A temp file is `.tmp-<host>-<pid>-<random>`: `<host>` is 8 hex digits of SHA-256 of the host
 * name, `<pid>` the writer's process id, `<random>` 24 hex digits. Removing a temp file never
 * harms an object: objects are hard links made from complete temp files, so at worst a writer
 * that was still using the removed file sees its put fail and retries with a fresh one.
 * Still, a leftover is removed only when it is certainly abandoned:
 * - it is a regular file (looked at without following symlinks) named by this pattern, and
 * - its writer ran on this host and is no longer alive, or it was last modified more than the
 *   grace period (1 hour by default) before the store was opened, so a live writer on another
 *   host sharing the filesystem, or one stopped for a while, is left alone.
 * Files of the pre-host naming (`.tmp-<random>`) are removed by age only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Default age after which any leftover temp file counts as abandoned. */
export const TEMP_GRACE_MS = 60 * 60 * 1000;

const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const TEMP_NAME_RE = /^\.tmp-(?:([0-9a-f]{8})-([1-9][0-9]{0,9})-)?[0-9a-f]{24}$/;

/** A fresh temp file name for this process. */
export function tempFileName(): string {
  return `.tmp-${HOST_TAG}-${process.pid}-${randomBytes(12).toString('hex')}`;
}

/** Whether a temp file named `name` is a leftover to remove, per the rules above. */
export function isAbandoned(
  name: string,
  mtimeMs: number,
  openedAt: number,
  graceMs: number,
): boolean {
  const m = TEMP_NAME_RE.exec(name);
  if (m === null) return false;
  if (mtimeMs < openedAt - graceMs) return true;
  const [, host, pid] = m;
  if (host !== HOST_TAG || pid === undefined) return false;
  return Number(pid) !== process.pid && mtimeMs <= openedAt && !isProcessAlive(Number(pid));
}

/**
 * Removes the abandoned temp files in `tempDir`; returns how many. Best effort: a file that
 * cannot be looked at or removed is left (it never shows up as an object).
 */
export async function removeAbandonedTempFiles(
  tempDir: string,
  openedAt: number,
  graceMs: number = TEMP_GRACE_MS,
): Promise<number> {
  let names: string[];
  try {
    names = await readdir(tempDir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(tempDir, name);
    try {
      const st = await lstat(path);
      if (!st.isFile() || !isAbandoned(name, st.mtimeMs, openedAt, graceMs)) continue;
      await unlink(path);
      removed++;
    } catch {
      // Gone already (another writer cleaned it) or not ours to touch: leave it.
    }
  }
  return removed;
}

/** `kill(pid, 0)`: ESRCH means no such process; EPERM means it exists under another user. */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
