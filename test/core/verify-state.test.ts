/**
 * The verifier's state record (FORMAT.md §10): round trip, key form, and every check of a
 * hostile record that can be made without the archive. Positions come from verifying a real log.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { verifyStore } from '../../src/app/verify.js';
import { canonicalize } from '../../src/core/canonical-json.js';
import { fromUtf8, toBase64, utf8 } from '../../src/core/encoding.js';
import { hasCode } from '../../src/core/errors.js';
import type { LogPosition } from '../../src/core/log-verifier.js';
import type { TrustedKey } from '../../src/core/note.js';
import {
  afterVerifyStateLog,
  decodeVerifyState,
  encodeVerifyState,
  MAX_VERIFY_STATE_BYTES,
  parseVerifyStateKey,
  type VerifyState,
  verifyStateKey,
} from '../../src/core/verify-state.js';
import { logFixture, makeKey, writeLog } from '../helpers/log-fixture.js';

let positions: LogPosition[] = [];
let trusted: TrustedKey[] = [];
const other = makeKey('other');

beforeAll(async () => {
  const fx = logFixture(new MemoryStore());
  await writeLog(fx, 23, 5);
  trusted = [fx.key.trusted];
  positions = [];
  await verifyStore(fx.store, {
    trustedKeys: trusted,
    onSegment: (s) => s.position && positions.push(s.position),
  });
});

function stateAt(i: number, extra: Partial<VerifyState> = {}): VerifyState {
  return {
    log: 'main',
    n: 3,
    position: positions[i] as LogPosition,
    verifiedAt: Date.UTC(2026, 11, 1),
    ...extra,
  };
}

/** The record's JSON value with `edit` applied, re-encoded canonically. */
function edited(edit: (r: Record<string, unknown>) => void, base = stateAt(2)): Uint8Array {
  const r = JSON.parse(fromUtf8(encodeVerifyState(base))) as Record<string, unknown>;
  edit(r);
  return utf8(canonicalize(r));
}

function expectInvalid(bytes: Uint8Array, log = 'main', n = 3, keys = trusted): void {
  let error: unknown;
  try {
    decodeVerifyState(bytes, log, n, keys);
  } catch (err) {
    error = err;
  }
  expect(hasCode(error, 'VERIFY_STATE_INVALID')).toBe(true);
}

describe('state records round-trip', () => {
  it('decodes what it encodes, position and all', () => {
    // Prepare: a position after each of the 5 segments of a real log.
    expect(positions.map((p) => [p.seq, p.treeSize])).toEqual([
      [0, 5],
      [1, 10],
      [2, 15],
      [3, 20],
      [4, 23],
    ]);
    for (const [i, p] of positions.entries()) {
      const state = stateAt(i, i === 1 ? { replica: 's3://replica-bucket/audit' } : {});
      // Act
      const back = decodeVerifyState(encodeVerifyState(state), 'main', 3, trusted);
      // Assess
      expect(back).toEqual(state);
      expect(back.position.root).toEqual(p.root);
    }
  });

  it('is canonical JSON with the members of FORMAT.md §10', () => {
    const text = fromUtf8(encodeVerifyState(stateAt(4)));
    const value = JSON.parse(text) as Record<string, unknown>;
    expect(canonicalize(value)).toBe(text);
    expect(Object.keys(value)).toEqual([
      'checkpoint',
      'frontier',
      'lastReceivedAt',
      'lastSealedAt',
      'log',
      'n',
      'origin',
      'segmentHash',
      'seq',
      'treeSize',
      'v',
      'verifiedAt',
    ]);
    expect(value).toMatchObject({ log: 'main', n: 3, seq: 4, treeSize: 23, v: 1 });
    expect(value.verifiedAt).toBe('2026-12-01T00:00:00.000Z');
    // 23 = 0b10111: one frontier hash per set bit.
    expect((value.frontier as string[]).length).toBe(4);
  });

  it('keys: 20 digits, parsed back, and a startAfter past one log only', () => {
    expect(verifyStateKey('main', 7)).toBe('verify-state/main/00000000000000000007.json');
    expect(parseVerifyStateKey('verify-state/main/00000000000000000007.json')).toEqual({
      log: 'main',
      n: 7,
    });
    for (const k of [
      'verify-state/main/7.json',
      'verify-state/Main/00000000000000000007.json',
      'main/seg/00000000000000000007.seg',
      'verify-state/main/00000000000000000007.json.tmp',
    ])
      expect(parseVerifyStateKey(k)).toBeUndefined();
    const after = afterVerifyStateLog('a');
    expect(verifyStateKey('a', 99_999) < after).toBe(true);
    expect(verifyStateKey('a0', 0) > after).toBe(true);
    expect(verifyStateKey('a-b', 0) < verifyStateKey('a', 0)).toBe(true);
  });
});

describe('hostile records are refused with VERIFY_STATE_INVALID', () => {
  it('not canonical, duplicate or unknown members, wrong types, oversized', () => {
    const good = fromUtf8(encodeVerifyState(stateAt(2)));
    expectInvalid(utf8(` ${good}`));
    expectInvalid(utf8(good.replace('"v":1', '"v":1.0')));
    expectInvalid(utf8(good.replace('{"checkpoint"', '{"v":1,"checkpoint"')));
    expectInvalid(edited((r) => (r.extra = true)));
    expectInvalid(edited((r) => (r.v = 2)));
    expectInvalid(edited((r) => (r.seq = '2')));
    expectInvalid(edited((r) => (r.treeSize = -1)));
    expectInvalid(edited((r) => (r.segmentHash = `${(r.segmentHash as string).slice(0, 42)}=`)));
    expectInvalid(edited((r) => (r.lastReceivedAt = '2026-02-30T00:00:00.000Z')));
    expectInvalid(edited((r) => delete r.frontier));
    expectInvalid(new Uint8Array([0xff, 0xfe]));
    expectInvalid(new Uint8Array(MAX_VERIFY_STATE_BYTES + 1).fill(0x20));
  });

  it('a record stored under another log or number', () => {
    const bytes = encodeVerifyState(stateAt(2));
    expectInvalid(bytes, 'other', 3);
    expectInvalid(bytes, 'main', 4);
    expect(decodeVerifyState(bytes, 'main', 3, trusted).n).toBe(3);
  });

  it('a checkpoint the signature policy refuses, or of another position', () => {
    expectInvalid(encodeVerifyState(stateAt(2)), 'main', 3, [other.trusted]);
    // Another segment's checkpoint under this position's numbers.
    expectInvalid(edited((r) => (r.checkpoint = (positions[1] as LogPosition).checkpoint)));
    expectInvalid(edited((r) => (r.origin = 'audit.example.com/test/other')));
    // Signature line removed: no trusted signature left.
    expectInvalid(
      edited((r) => (r.checkpoint = (r.checkpoint as string).replace(/\n\u2014 .*\n$/u, '\n'))),
    );
    expectInvalid(edited((r) => (r.checkpoint = 'not a note')));
  });

  it("a frontier that does not give the checkpoint's root, or seal time not the checkpoint's", () => {
    const p = positions[2] as LogPosition;
    const wrong = p.frontier.map((h) => toBase64(h.map((b) => b ^ 1)));
    expectInvalid(edited((r) => (r.frontier = wrong)));
    expectInvalid(edited((r) => (r.frontier = (r.frontier as string[]).slice(1))));
    expectInvalid(edited((r) => (r.lastSealedAt = '2026-01-01T00:00:00.000Z')));
    expectInvalid(edited((r) => (r.lastReceivedAt = '9999-01-01T00:00:00.000Z')));
  });

  it('any single-byte change is refused or changes only what the archive confirms', () => {
    const bytes = encodeVerifyState(stateAt(3));
    const original = decodeVerifyState(bytes, 'main', 3, trusted).position;
    fc.assert(
      fc.property(
        fc.nat({ max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, xor) => {
          const changed = bytes.slice();
          changed[at] = (changed[at] as number) ^ xor;
          let decoded: VerifyState | undefined;
          try {
            decoded = decodeVerifyState(changed, 'main', 3, trusted);
          } catch (err) {
            expect(hasCode(err, 'VERIFY_STATE_INVALID')).toBe(true);
            return;
          }
          // verifiedAt is bound to nothing; segmentHash and lastReceivedAt only to the archive's
          // segment (FORMAT.md §10 check 4, in test/app/verify-incremental.test.ts).
          const unbound = { lastReceivedAt: 0, segmentHash: new Uint8Array() };
          expect({ ...decoded.position, ...unbound }).toEqual({ ...original, ...unbound });
          expect(decoded.position.lastReceivedAt).toBeLessThanOrEqual(original.lastSealedAt);
        },
      ),
      { numRuns: 300 },
    );
  });
});
