import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawHall, hallRegistration } from '../../test/halls';
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { performanceKeys } from '../redis-keys';

/**
 * free-seats-after.lua over free seats far apart: their seat ids are read in one GETRANGE for the
 * candidates within INFO_SPAN (512) positions of a run's first, so a page whose seats lie 300
 * positions apart reads them in several runs; every candidate is still checked against its letter.
 * (The property spec's halls are smaller than one run.)
 */
describe('free seats after a position, seats far apart', () => {
  let fixture: TicketingFixture;

  beforeAll(() => {
    fixture = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '4' });
  });
  afterAll(() => fixture.close());

  it('answers the free seats of several seat-info runs in order, and never a seat whose letter is not A', async () => {
    // 30 rows of 100 seats: free only where the layout index is 7 mod 300 (positions 8, 308, …).
    const rows = Array.from({ length: 30 }, (_, row) =>
      Array.from({ length: 100 }, (_, seat) => ((row * 100 + seat) % 300 === 7 ? '.' : 'x')).join(''),
    );
    const hall = drawHall([{ name: 'Floor', rows }]);
    await fixture.store.registerPerformance(hallRegistration(1, hall));
    const free = Array.from({ length: 10 }, (_, i) => 8 + 300 * i);
    // A bit wrongly 1 (a sold seat's, position 401): found by the bitmap, refused by its letter.
    await fixture.redis.setbit(performanceKeys(1).free, 400, 1);

    expect(await fixture.store.freeSeatsAfter(1, 0, 20, hall.places.length)).toEqual({
      positions: free,
      looked: hall.places.length,
    });
    expect(await fixture.store.freeSeatsAfter(1, 8, 3, hall.places.length)).toEqual({
      positions: free.slice(1, 4),
      looked: free[3],
    });
  });
});
