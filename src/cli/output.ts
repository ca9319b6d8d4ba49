/** Terminal output helpers: progress only on a TTY, machine output on stdout, messages on stderr. */
import type { Writable } from 'node:stream';

export type Io = {
  readonly stdout: Writable;
  readonly stderr: Writable & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream;
};

/** A one-line progress display on stderr, redrawn at most every 200 ms, only when it is a TTY. */
export function progress(io: Io): { update(text: string): void; done(): void } {
  const tty = Boolean(io.stderr.isTTY) && !process.env.CI;
  let last = 0;
  let shown = false;
  return {
    update(text) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      io.stderr.write(`\r\x1b[2K${text}`);
    },
    done() {
      if (shown) io.stderr.write('\r\x1b[2K');
    },
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
