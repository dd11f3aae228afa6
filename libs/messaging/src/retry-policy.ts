/** What to do with a message whose handling failed. */
export type FailureDecision = { action: 'retry'; delayMs: number; attempt: number } | { action: 'dead-letter' };

/**
 * Exponential backoff with a cap and a bounded number of tries: the first retry waits
 * `baseDelayMs`, each next one twice as long, never more than `maxDelayMs`; after `maxAttempts`
 * failed tries the message is dead-lettered.
 */
export class RetryPolicy {
  constructor(
    readonly maxAttempts: number,
    readonly baseDelayMs: number,
    readonly maxDelayMs: number,
  ) {
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError('maxAttempts must be an integer ≥ 1');
    if (baseDelayMs < 1 || maxDelayMs < baseDelayMs) throw new RangeError('need 1 ≤ baseDelayMs ≤ maxDelayMs');
  }

  /** Wait before retry number `retry` (1 = the first retry). */
  delayBeforeRetry(retry: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.max(0, retry - 1));
  }

  /** `failedAttempts` counts every failed try so far, the one that just failed included. */
  onFailure(failedAttempts: number): FailureDecision {
    if (failedAttempts >= this.maxAttempts) return { action: 'dead-letter' };
    return { action: 'retry', delayMs: this.delayBeforeRetry(failedAttempts), attempt: failedAttempts + 1 };
  }

  /** Every distinct wait this policy uses, shortest first: one retry queue each. */
  get delaysMs(): number[] {
    const delays = new Set<number>();
    for (let retry = 1; retry < this.maxAttempts; retry += 1) delays.add(this.delayBeforeRetry(retry));
    return [...delays].sort((a, b) => a - b);
  }
}
