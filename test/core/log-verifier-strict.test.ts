/**
 * LogVerifier's `strictEntries` is the strict check itself (entry.ts's `decodeEntry`), given by
 * the caller so that core/log-verifier.ts loads no zod (issue 14): the verifier uses the function
 * it is given for every entry, and refuses a flag, which it can no longer turn into a check.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/core/encoding.js';
import { decodeEntry } from '../../src/core/entry.js';
import type { Finding } from '../../src/core/findings.js';
import { LogVerifier as PublicLogVerifier } from '../../src/core/index.js';
import { segmentKey } from '../../src/core/layout.js';
import { LogVerifier, type LogVerifyOptions } from '../../src/core/log-verifier.js';
import { makeKey } from '../helpers/log-fixture.js';
import { sampleEntries, sealedSegment, thrownCode } from './segment-builder.js';

async function findingsOf(opts: Omit<LogVerifyOptions, 'trustedKeys'>): Promise<Finding[]> {
  const { bytes, key } = await sealedSegment();
  const findings: Finding[] = [];
  const v = new LogVerifier('main', { trustedKeys: [key.trusted], ...opts }, (f) =>
    findings.push(f),
  );
  v.addSegment(segmentKey('main', 0), 0, bytes);
  v.finish();
  return findings;
}

describe('LogVerifier strictEntries', () => {
  it('checks every entry with the strict check it is given', async () => {
    // Prepare: a check that refuses everything, counting its calls.
    let calls = 0;
    const refuse = () => {
      calls++;
      throw new Error('refused');
    };
    // Act
    const findings = await findingsOf({ strictEntries: refuse });
    // Assess: each of the 3 entries went through it, and is reported with its message.
    expect(calls).toBe(3);
    expect(findings.map((f) => [f.code, f.index, f.detail])).toEqual([
      ['ENTRY_INVALID', 0, 'refused'],
      ['ENTRY_INVALID', 1, 'refused'],
      ['ENTRY_INVALID', 2, 'refused'],
    ]);
  });

  it('verifies a clean segment clean with decodeEntry', async () => {
    expect(await findingsOf({ strictEntries: decodeEntry })).toEqual([]);
  });

  it('refuses strictEntries: true (a flag, not a check)', () => {
    const code = thrownCode(
      () => new LogVerifier('main', { trustedKeys: [], strictEntries: true as never }, () => {}),
    );
    expect(code).toBe('STRICT_ENTRIES_INVALID');
  });
});

describe('LogVerifier of auditlock/core', () => {
  it('takes strictEntries: true as the entry schema, as before, and a check of its own', async () => {
    // Prepare: entry 1 is valid JSON but not in canonical form, which only the schema refuses.
    const entries = sampleEntries(3).map((e, i) =>
      i === 1 ? utf8(Buffer.from(e).toString('utf8').replace('{"', '{ "')) : e,
    );
    const { bytes, key } = await sealedSegment(makeKey(), { entries });
    const run = (strictEntries: boolean | (() => never)) => {
      const findings: Finding[] = [];
      const v = new PublicLogVerifier('main', { trustedKeys: [key.trusted], strictEntries }, (f) =>
        findings.push(f),
      );
      v.addSegment(segmentKey('main', 0), 0, bytes);
      v.finish();
      return findings.map((f) => [f.code, f.index]);
    };
    // Assess
    expect(run(false)).toEqual([]);
    expect(run(true)).toEqual([['ENTRY_INVALID', 1]]);
    const refuse = () => {
      throw new Error('refused');
    };
    expect(run(refuse)).toHaveLength(3);
  });
});
