/** Temp folders for stores: all under one prefix, removed when done (and on Ctrl-C). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set();

export function makeTempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `auditlock-bench-${label}-`));
  made.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

function removeAll() {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

process.on('exit', removeAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    removeAll();
    process.exit(130);
  });
}
