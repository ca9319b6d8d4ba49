/** Durability helpers for the adapters that write local files. */
import { open } from 'node:fs/promises';

/**
 * Makes `dir`'s entries (new files, links, subfolders) durable: a file is not crash-safe until
 * the folder that names it is synced too.
 * @throws the raw filesystem error; callers map it to their own coded error.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
