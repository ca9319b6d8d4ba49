/**
 * Small files a user names on the command line (a proof, a trusted checkpoint, a trusted-keys
 * file) and files the CLI writes for them (`--write-checkpoint`): read with a size bound and
 * turned into coded one-line errors (exit 2) instead of raw Node exceptions with stack traces.
 * Paths are echoed with JSON.stringify, so control characters in them are escaped.
 */
import { open, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigurationError } from '../core/errors.js';

/** The kinds of input file, each with its own pair of error codes. */
export type InputFileKind = 'PROOF' | 'CHECKPOINT' | 'TRUST_FILE' | 'MAPPING' | 'EXPORT_STATE';

/** Codes of the errors this module throws (a closed list). */
export type InputFileErrorCode =
  | `${InputFileKind}_NOT_FOUND`
  | `${InputFileKind}_UNREADABLE`
  | 'OUTPUT_NOT_WRITABLE';

/**
 * Reads the regular file at `path` as UTF-8, at most `maxBytes` bytes.
 * `what` names the file in codes and messages: `PROOF` gives `PROOF_NOT_FOUND` and
 * `PROOF_UNREADABLE` (a folder, a device, too large, no permission, not UTF-8).
 * @throws ConfigurationError `<WHAT>_NOT_FOUND`, `<WHAT>_UNREADABLE`
 */
export async function readInputFile(
  path: string,
  what: InputFileKind,
  maxBytes: number,
): Promise<string> {
  const shown = JSON.stringify(path);
  const label = what.toLowerCase().replaceAll('_', ' ');
  const unreadable = (why: string, cause?: unknown) =>
    new ConfigurationError<InputFileErrorCode>(
      `${what}_UNREADABLE`,
      `cannot read ${label} ${shown}: ${why}`,
      {
        cause,
      },
    );
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new ConfigurationError<InputFileErrorCode>(
        `${what}_NOT_FOUND`,
        `${label} ${shown} does not exist`,
        {
          cause,
        },
      );
    throw unreadable(code ?? 'open failed', cause);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw unreadable(info.isDirectory() ? 'it is a folder' : 'not a file');
    if (info.size > maxBytes) throw unreadable(`larger than ${maxBytes} bytes`);
    const buf = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw unreadable(`larger than ${maxBytes} bytes`);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, length));
    } catch (cause) {
      throw unreadable('not UTF-8 text', cause);
    }
  } catch (err) {
    if (err instanceof ConfigurationError) throw err;
    throw unreadable((err as { code?: string }).code ?? 'read failed', err);
  } finally {
    await handle.close();
  }
}

/**
 * Checks before long work that a file can be created at `path`: its folder exists and `path` is
 * not a folder.
 * @throws ConfigurationError `OUTPUT_NOT_WRITABLE`
 */
export async function checkOutputPath(path: string): Promise<void> {
  const shown = JSON.stringify(path);
  const folder = await stat(dirname(path)).catch(() => undefined);
  if (!folder?.isDirectory())
    throw new ConfigurationError(
      'OUTPUT_NOT_WRITABLE',
      `cannot write ${shown}: folder ${JSON.stringify(dirname(path))} does not exist`,
    );
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory())
    throw new ConfigurationError('OUTPUT_NOT_WRITABLE', `cannot write ${shown}: it is a folder`);
}

/**
 * Writes `text` to `path`.
 * @throws ConfigurationError `OUTPUT_NOT_WRITABLE`
 */
export async function writeOutputFile(path: string, text: string): Promise<void> {
  await writeFile(path, text).catch((cause) => {
    throw new ConfigurationError(
      'OUTPUT_NOT_WRITABLE',
      `cannot write ${JSON.stringify(path)}: ${(cause as { code?: string }).code ?? 'write failed'}`,
      { cause },
    );
  });
}
