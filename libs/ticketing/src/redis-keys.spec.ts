import { describe, expect, it } from 'vitest';
import { holdPointerKey, performanceKeys } from './redis-keys';

/** The hash tag Redis Cluster uses: the text between the first `{` and the next `}`. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  return key.slice(open + 1, key.indexOf('}', open + 1));
}

describe('performanceKeys', () => {
  it('puts every key of a performance under its {perf:<id>} hash tag', () => {
    const keys = performanceKeys(42);
    const all = [
      keys.meta,
      keys.seats,
      keys.seatHolds,
      keys.prices,
      keys.counts,
      keys.expiry,
      keys.hold('6f1c0d3e-0000-4000-8000-000000000000'),
      keys.userHolds('user-{odd}-id'),
      keys.holdRequest('6f1c0d3e-0000-4000-8000-000000000001', 'digest'),
      keys.refundRequest('6f1c0d3e-0000-4000-8000-000000000001', 'digest'),
    ];
    for (const key of all) expect(hashTag(key), key).toBe('perf:42');
    expect(new Set(all).size).toBe(all.length);
  });

  it("is made once per performance and kept frozen: a caller cannot change another's names", () => {
    expect(performanceKeys(42)).toBe(performanceKeys(42));
    expect(performanceKeys(43).meta).toBe('{perf:43}:meta');
    expect(Object.isFrozen(performanceKeys(42))).toBe(true);
  });

  it('keeps the hold pointer outside any performance tag', () => {
    expect(holdPointerKey('abc')).not.toContain('{');
  });
});
