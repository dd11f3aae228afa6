import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitAmount } from './revenue-split';

describe('splitAmount', () => {
  it('gives back the recorded prices when they sum to the amount', () => {
    expect(splitAmount(1500, [1000, 500])).toEqual([1000, 500]);
    expect(splitAmount(0, [0, 0, 0])).toEqual([0, 0, 0]);
  });

  it('splits in proportion to the prices otherwise, the leftover units to the largest remainders', () => {
    // 1500 over prices 1000 and 100,000,000 (B repriced after the sale): quotas 0.015 and 1499.985.
    expect(splitAmount(1500, [1000, 100_000_000])).toEqual([0, 1500]);
    // 150 over 100 and 40: quotas 107.14 and 42.86.
    expect(splitAmount(150, [100, 40])).toEqual([107, 43]);
    // 10 over three equal prices: 3.33 each, the leftover unit to the earliest seat.
    expect(splitAmount(10, [7, 7, 7])).toEqual([4, 3, 3]);
    expect(splitAmount(1, [0, 5, 0])).toEqual([0, 1, 0]);
  });

  it('splits equally when every price is 0 now, the leftover units to the earliest seats', () => {
    expect(splitAmount(1500, [0, 0])).toEqual([750, 750]);
    expect(splitAmount(5, [0, 0, 0])).toEqual([2, 2, 1]);
  });

  it('stays exact past 2^53 for amount × price', () => {
    const amount = 4 * 100_000_000;
    expect(splitAmount(amount, [100_000_000, 99_999_999, 1, 3])).toEqual([199_999_997, 199_999_995, 2, 6]);
  });

  it('answers [] for no seats', () => {
    expect(splitAmount(0, [])).toEqual([]);
  });

  it('gives every seat a share ≥ 0, the shares summing to the amount, for any amount, prices and seat count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100_000_000 })), { minLength: 1, maxLength: 40 }),
        (amount, prices) => {
          const shares = splitAmount(amount, prices);
          expect(shares.length, `one share per seat of ${prices}`).toBe(prices.length);
          const bad = shares.findIndex((share) => !Number.isSafeInteger(share) || share < 0);
          expect(bad, `seat ${bad}: share ${shares[bad]} of ${amount} over ${prices}`).toBe(-1);
          expect(
            shares.reduce((sum, share) => sum + share, 0),
            `${amount} over ${prices}`,
          ).toBe(amount);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives each seat its quota rounded down or up', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 20 }),
        (amount, prices) => {
          const total = prices.reduce((a, b) => a + b, 0);
          splitAmount(amount, prices).forEach((share, i) => {
            const quota = (amount * prices[i]) / total;
            expect(share, `seat ${i} of ${amount} over ${prices}`).toBeGreaterThanOrEqual(Math.floor(quota));
            expect(share, `seat ${i} of ${amount} over ${prices}`).toBeLessThanOrEqual(Math.ceil(quota));
          });
        },
      ),
    );
  });
});
