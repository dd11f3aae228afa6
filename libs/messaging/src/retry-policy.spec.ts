import { describe, expect, it } from 'vitest';
import { RetryPolicy } from './retry-policy';

describe('RetryPolicy', () => {
  const policy = new RetryPolicy(8, 1000, 30_000);

  it('doubles the wait from the base and caps it', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((retry) => policy.delayBeforeRetry(retry))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
  });

  it('retries until the tries are used up, then dead-letters', () => {
    expect(policy.onFailure(1)).toEqual({ action: 'retry', delayMs: 1000, attempt: 2 });
    expect(policy.onFailure(3)).toEqual({ action: 'retry', delayMs: 4000, attempt: 4 });
    expect(policy.onFailure(7)).toEqual({ action: 'retry', delayMs: 30_000, attempt: 8 });
    expect(policy.onFailure(8)).toEqual({ action: 'dead-letter' });
    expect(policy.onFailure(20)).toEqual({ action: 'dead-letter' });
  });

  it('lists each distinct wait once, for one retry queue each', () => {
    expect(policy.delaysMs).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000]);
    expect(new RetryPolicy(1, 1000, 1000).delaysMs).toEqual([]);
    expect(new RetryPolicy(5, 100, 100).delaysMs).toEqual([100]);
  });

  it('refuses a policy that makes no sense', () => {
    expect(() => new RetryPolicy(0, 1000, 2000)).toThrow(RangeError);
    expect(() => new RetryPolicy(3, 2000, 1000)).toThrow(RangeError);
  });
});
