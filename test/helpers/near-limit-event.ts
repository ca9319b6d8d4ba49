/**
 * A valid event the fast path leaves to zod (as in test/core/event-fast-path.test.ts, sizes near
 * the limits): the bound it checks (3 bytes a character, 64 KiB for detail) is over the 256 KiB
 * event limit, the canonical size (~145 KB) under.
 */
export const NEAR_LIMIT_EVENT = {
  time: '2026-11-26T08:16:35Z',
  action: 'a',
  actor: { id: 'x' },
  outcome: 'unknown',
  resources: Array.from({ length: 70 }, () => ({ type: 't', id: 'a'.repeat(2048) })),
};
