import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { CheckInWindow, Performance, salesStateAt } from '@app/ticketing';
import { mapPerformance } from './performance.dto';
import { performanceDetailJson } from './performance-detail-json';

const WINDOW: CheckInWindow = {
  opensAt: new Date('2030-03-01T17:30:00Z'),
  closesAt: new Date('2030-03-01T21:00:00Z'),
};

/** A performance copy of `fields` over an on-sale show in Seoul. */
function copyOf(fields: Partial<Performance> = {}): Performance {
  return {
    id: 7,
    eventId: 1,
    startsAt: new Date('2030-03-01T19:00:00Z'),
    salesOpenAt: new Date('2030-01-01T00:00:00Z'),
    salesCloseAt: null,
    cancelUntil: new Date('2030-02-28T19:00:00Z'),
    status: 'ON_SALE',
    totalSeats: 120,
    currency: 'KRW',
    eventTitle: 'Concert "Live"',
    venue: 'Hall',
    timeZone: 'Asia/Seoul',
    noOrphanSeats: true,
    maxTicketsPerBuyer: 4,
    ...fields,
  };
}

describe('performanceDetailJson', () => {
  it('is JSON.stringify of the mapped performance and its counts, salesState and counts as of each read', () => {
    const instants = [
      Date.parse('2029-12-31T00:00:00Z'),
      Date.parse('2030-02-01T00:00:00Z'),
      Date.parse('2030-03-01T19:00:00Z'),
    ];
    fc.assert(
      fc.property(
        fc.record({
          status: fc.constantFrom('ON_SALE', 'PAUSED', 'CLOSED', 'CANCELED') as fc.Arbitrary<Performance['status']>,
          salesCloseAt: fc.option(fc.constant(new Date('2030-02-15T00:00:00Z'))),
          cancelUntil: fc.option(fc.constant(new Date('2030-02-28T19:00:00Z'))),
          noOrphanSeats: fc.option(fc.boolean(), { nil: undefined }),
          maxTicketsPerBuyer: fc.option(fc.integer({ min: 1, max: 20 })),
          checkInOpensBeforeMinutes: fc.option(fc.integer({ min: 0, max: 600 })),
        }),
        fc.array(fc.record({ available: fc.nat(), held: fc.nat(), sold: fc.nat(), blocked: fc.nat() }), {
          minLength: 1,
          maxLength: 3,
        }),
        (fields, reads) => {
          const performance = copyOf(fields);
          for (const [i, counts] of reads.entries()) {
            const nowMs = instants[i % instants.length];
            const expected = JSON.stringify({ ...mapPerformance(performance, nowMs, WINDOW), ...counts });
            expect(performanceDetailJson(performance, counts, nowMs, () => WINDOW)).toBe(expected);
          }
        },
      ),
    );
  });

  it('asks for the check-in window once per copy, and again for a new copy', () => {
    const windowOf = vi.fn(() => WINDOW);
    const counts = { available: 1, held: 2, sold: 3, blocked: 4 };
    const first = copyOf();
    performanceDetailJson(first, counts, 0, windowOf);
    performanceDetailJson(first, { ...counts, sold: 4 }, 1, windowOf);
    expect(windowOf).toHaveBeenCalledTimes(1);
    const reloaded = copyOf({ status: 'PAUSED' });
    expect(JSON.parse(performanceDetailJson(reloaded, counts, 0, windowOf))).toMatchObject({
      status: 'PAUSED',
      salesState: salesStateAt(reloaded, 0),
    });
    expect(windowOf).toHaveBeenCalledTimes(2);
  });
});
