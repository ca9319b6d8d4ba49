/** Terminal output helpers: progress only on a TTY, machine output on stdout, messages on stderr. */
import type { Writable } from 'node:stream';

export type Io = {
  readonly stdout: Writable;
  readonly stderr: Writable & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream;
};

/**
 * Characters that must not reach a terminal as they are: C0 controls (ESC starts terminal escape
 * sequences, CR and LF break the one-line message), DEL, C1 controls (U+009B is a one-character
 * CSI), unpaired surrogates, and the invisible line separators and bidirectional controls that can
 * make text look like something else (Unicode TR #9, "Trojan Source").
 */
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\uFEFF]|[\uD800-\uDFFF]/gu;

/**
 * `text` with every unsafe character (see above) written as a visible escape: `\xNN` below
 * U+0100, `\u{NNNN}` above. Backslashes are left alone, so escaped text may be ambiguous, never
 * harmful. Use on anything echoed from input, file names, or stored bytes.
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const cp = c.codePointAt(0) ?? 0;
    return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
  });
}

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
      io.stderr.write(`\r\x1b[2K${escapeText(text)}`);
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
