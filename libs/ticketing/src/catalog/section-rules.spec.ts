import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors';
import { assertPriceChange, assertSectionPrice } from './section-rules';
import { MAX_PRICE } from './seat-filter';

const startsAt = new Date('2030-03-01T19:00:00Z');
const before = new Date('2030-03-01T18:59:59.999Z');

function refusal(run: () => void): string | null {
  try {
    run();
    return null;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return `${error.kind}:${error.code}`;
  }
}

describe('assertPriceChange', () => {
  it('allows a change while on sale or paused, before the start', () => {
    expect(refusal(() => assertPriceChange({ status: 'ON_SALE', startsAt, now: before }, 1000, 7))).toBeNull();
    expect(refusal(() => assertPriceChange({ status: 'PAUSED', startsAt, now: before }, 0, 7))).toBeNull();
  });

  it('refuses a CLOSED performance, and one that has started (at its start exactly too), with 409', () => {
    expect(refusal(() => assertPriceChange({ status: 'CLOSED', startsAt, now: before }, 10, 7))).toBe(
      'conflict:PerformanceClosed',
    );
    expect(refusal(() => assertPriceChange({ status: 'ON_SALE', startsAt, now: startsAt }, 10, 7))).toBe(
      'conflict:PerformanceStarted',
    );
    expect(refusal(() => assertPriceChange({ status: 'PAUSED', startsAt, now: new Date('2031-01-01Z') }, 10, 7))).toBe(
      'conflict:PerformanceStarted',
    );
  });

  it('refuses a CANCELED performance for good, with 409 naming it as the other routes do', () => {
    expect(refusal(() => assertPriceChange({ status: 'CANCELED', startsAt, now: before }, 10, 7))).toBe(
      'conflict:PerformanceCanceled',
    );
    try {
      assertPriceChange({ status: 'CANCELED', startsAt, now: before }, 10, 7);
    } catch (error) {
      expect(error).toMatchObject({
        message: 'performance 7 has been canceled: its prices can no longer change',
        details: { performanceId: 7 },
      });
    }
    expect.assertions(2);
  });

  it('refuses a bad price before any lifecycle reason (400 beats 409)', () => {
    expect(refusal(() => assertPriceChange({ status: 'CLOSED', startsAt, now: startsAt }, -1, 7))).toBe(
      'invalid:InvalidInput',
    );
  });
});

describe('assertSectionPrice', () => {
  it('takes exactly the integers 0 … MAX_PRICE', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -1e9, max: 1e9 }), fc.double(), fc.string(), fc.constant(null)),
        (price) => {
          const ok = typeof price === 'number' && Number.isInteger(price) && price >= 0 && price <= MAX_PRICE;
          expect(refusal(() => assertSectionPrice(price))).toBe(ok ? null : 'invalid:InvalidInput');
        },
      ),
    );
  });
});
