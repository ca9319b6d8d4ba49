/**
 * Which temp files of a folder store count as abandoned (`isAbandoned`), with injected times:
 * only the store's own naming, by age for any host, at once for a dead writer of this host.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isAbandoned, TEMP_GRACE_MS, tempFileName } from '../../src/adapters/folder-temp.js';

const OPENED_AT = 1_900_000_000_000;
const HOUR = 60 * 60 * 1000;
const hex = '0f'.repeat(12);
const [, host = ''] = /^\.tmp-([0-9a-f]{8})-/.exec(tempFileName()) ?? [];
/** A process id that was alive a moment ago and is certainly gone now. */
const deadPid = spawnSync(process.execPath, ['-e', '0']).pid ?? 0;

describe('isAbandoned', () => {
  it('names temp files after this host and process', () => {
    expect(tempFileName()).toMatch(new RegExp(`^\\.tmp-${host}-${process.pid}-[0-9a-f]{24}$`));
    expect(tempFileName()).not.toBe(tempFileName());
  });

  it('removes any of the store’s temp files once older than the grace period', () => {
    const old = OPENED_AT - TEMP_GRACE_MS - 1;
    for (const name of [`.tmp-${hex}`, `.tmp-00000000-${process.pid}-${hex}`, tempFileName()]) {
      expect(isAbandoned(name, old, OPENED_AT, TEMP_GRACE_MS)).toBe(true);
      expect(isAbandoned(name, OPENED_AT - TEMP_GRACE_MS, OPENED_AT, TEMP_GRACE_MS)).toBe(false);
    }
  });

  it('removes a fresh one at once only if its writer ran on this host and is dead', () => {
    const fresh = OPENED_AT - 1000;
    expect(isAbandoned(`.tmp-${host}-${deadPid}-${hex}`, fresh, OPENED_AT, HOUR)).toBe(true);
    // Modified after the open: a writer that is still at it (or a reused pid).
    expect(isAbandoned(`.tmp-${host}-${deadPid}-${hex}`, OPENED_AT + 1, OPENED_AT, HOUR)).toBe(
      false,
    );
    expect(isAbandoned(`.tmp-${host}-${process.pid}-${hex}`, fresh, OPENED_AT, HOUR)).toBe(false);
    const otherHost = host === 'ffffffff' ? '00000000' : 'ffffffff';
    expect(isAbandoned(`.tmp-${otherHost}-${deadPid}-${hex}`, fresh, OPENED_AT, HOUR)).toBe(false);
    expect(isAbandoned(`.tmp-${hex}`, fresh, OPENED_AT, HOUR)).toBe(false);
  });

  it('never touches names outside the store’s own pattern', () => {
    const old = 0;
    for (const name of [
      'segment.seg',
      '.tmp-',
      `.tmp-${hex}x`,
      `.tmp-${hex.slice(2)}`,
      `.tmp-${host}-0-${hex}`,
      `.tmp-ABCDEF01-12-${hex}`,
      `x.tmp-${hex}`,
    ]) {
      expect(isAbandoned(name, old, OPENED_AT, HOUR)).toBe(false);
    }
  });
});
