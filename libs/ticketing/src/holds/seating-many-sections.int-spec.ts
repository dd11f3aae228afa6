import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawHall, DrawnSection, hallRegistration, seatingDisagreements } from '../../test/halls';
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { performanceKeys } from '../redis-keys';
import { SECTION_RECORD_BYTES } from '../seats/seating-layout';
import type { SeatScope } from './best-available-scripts';

/**
 * The layout's `sections` bytes (SEATING_FORMAT 7) on a venue of 300 sections: records read past
 * 3,600 bytes, by section name in any casing and by grade, a section without marked seats for an
 * accessible request, and a release refreshing a section's slot from its record.
 */
describe('best available on a venue of 300 sections', () => {
  let fx: TicketingFixture;
  beforeAll(() => (fx = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '8' })));
  afterAll(() => fx.close());

  it('finds seats in the last sections by name and grade', async () => {
    const sections: DrawnSection[] = Array.from({ length: 300 }, (_, i) => ({
      name: `Sec ${i}`,
      grade: i % 3 === 0 ? 'Gold' : 'Std',
      rows: i === 299 ? ['..A...', '......'] : ['xxxxxx', 'xx..xx'],
      quality: (row, n) => 100 + i + n - row,
    }));
    const drawn = drawHall(sections);
    await fx.store.registerPerformance(hallRegistration(1, drawn));
    const records = (await fx.redis.hgetBuffer(performanceKeys(1).seating, 'sections'))!;
    expect(records.length).toBe(300 * SECTION_RECORD_BYTES);
    const ask = (quantity: number, scope: SeatScope, accessible = false) =>
      fx.holds.holdBestAvailable(randomUUID(), { performanceId: 1, quantity, together: true, accessible, scope });
    const bySection = await ask(3, { kind: 'section', section: 'SEC 299' });
    expect(bySection.seatIds.map(drawn.label)).toEqual(['Sec 299 1-4', 'Sec 299 1-5', 'Sec 299 1-6']);
    const byGrade = await ask(2, { kind: 'grade', grade: 'gold' });
    expect(byGrade.seatIds.map(drawn.label)[0]).toMatch(/^Sec (297|294) 2-/);
    const accessible = await ask(1, { kind: 'section', section: 'Sec 299' }, true);
    expect(accessible.seatIds.map(drawn.label)).toEqual(['Sec 299 1-3']);
    // Section 298: no marked seat; an accessible request there finds none.
    await expect(ask(1, { kind: 'section', section: 'Sec 298' }, true)).rejects.toThrow();
    await fx.holds.release(bySection.userId, bySection.id);
    expect(await seatingDisagreements(fx.redis, 1, drawn.places)).toEqual([]);
  });
});
