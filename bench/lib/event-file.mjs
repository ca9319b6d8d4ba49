/** The benchmark's events (lib/events.mjs) written to a JSON Lines file, for whole-process runs. */
import { closeSync, openSync, writeSync } from 'node:fs';
import { eventStream } from './events.mjs';

/**
 * Writes the first `count` lines of {@link eventStream} to `path`, each ending in LF, a chunk at a
 * time (the events are never all in memory, so the process that spawns the measured ones stays
 * small: a child's peak RSS starts at its spawner's on Linux).
 * @returns the file's size in bytes
 */
export function writeEventFile(path, count) {
  const { lineAt } = eventStream();
  const fd = openSync(path, 'w');
  let bytes = 0;
  try {
    for (let i = 0; i < count; ) {
      const end = Math.min(count, i + 2000);
      let chunk = '';
      for (; i < end; i++) chunk += `${lineAt(i)}\n`;
      bytes += writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}
