import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyHold } from '../../test/best-available-steps';
import { drawHall, hallRegistration, seatingDisagreements } from '../../test/halls';
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { DomainError } from '../errors';
import { Hold } from './hold';

const BUYERS = 2000;

/**
 * 2,000 buyers ask best-available for 2–4 seats of a 2,000-seat hall at once, over four client
 * connections (four API replicas), then buy what they got: no seat is held or sold twice, the
 * counts are exact, and the seating data agrees with the seat letters at the end.
 */
describe('best-available holds under a rush', () => {
  let fixture: TicketingFixture;

  beforeAll(() => {
    fixture = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '4' });
  });
  afterAll(() => fixture.close());

  it('sells every seat at most once', async () => {
    const performanceId = 1;
    // 4 sections × 20 rows × 25 seats = 2,000 seats, all free.
    const hall = drawHall(
      ['A', 'B', 'C', 'D'].map((name) => ({
        name,
        grade: name === 'A' ? 'VIP' : 'R',
        rows: Array(20).fill('.'.repeat(25)),
      })),
    );
    expect(hall.places).toHaveLength(2000);
    await fixture.store.registerPerformance(hallRegistration(performanceId, hall));
    const replicas = [fixture.holds, ...[1, 2, 3].map(() => fixture.connect().holds)];

    const outcomes = await Promise.all(
      Array.from({ length: BUYERS }, async (_, buyer) => {
        try {
          return await replicas[buyer % replicas.length].holdBestAvailable(randomUUID(), {
            performanceId,
            quantity: 2 + (buyer % 3),
            together: buyer % 5 !== 0,
            accessible: false,
            scope: buyer % 7 === 0 ? { kind: 'grade', grade: 'VIP' } : { kind: 'all' },
          });
        } catch (error) {
          if (error instanceof DomainError && error.code === 'NoSeatsFit') return null;
          throw error;
        }
      }),
    );
    const holds = outcomes.filter((hold): hold is Hold => hold !== null);
    const held = holds.flatMap((hold) => hold.seatIds);
    expect(new Set(held).size).toBe(held.length);
    // Most parties sat together; the hall ran out before the buyers did.
    expect(holds.filter((hold) => hold.arrangement === 'TOGETHER').length).toBeGreaterThan(holds.length / 2);
    expect(holds.length).toBeLessThan(BUYERS);

    const bought = await Promise.all(
      holds.map(async (hold) => ((await buyHold(fixture, performanceId, hold)).outcome === 'OK' ? hold.seatIds : [])),
    );
    const sold = bought.flat();
    expect(new Set(sold).size).toBe(sold.length);
    expect(sold.length).toBe(held.length);

    const { stored, recomputed } = await fixture.truth(performanceId);
    expect(stored).toEqual(recomputed);
    expect(stored).toMatchObject({ total: 2000, sold: sold.length, held: 0, available: 2000 - sold.length });
    expect(await seatingDisagreements(fixture.redis, performanceId, hall.places)).toEqual([]);
  });
});
