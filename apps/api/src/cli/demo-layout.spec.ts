import { describe, expect, it } from 'vitest';
import { generateLayout } from '@app/ticketing';
import { layoutFor } from './demo-layout';

describe('demo seat layout', () => {
  it.each([1, 7, 100, 2000, 50_000])('holds at least %i seats in whole rows, cheapest at the back', (seats) => {
    const sections = layoutFor(seats);
    const total = sections.reduce((sum, s) => sum + s.rows * s.seatsPerRow, 0);
    expect(total).toBeGreaterThanOrEqual(seats);
    expect(total - seats).toBeLessThan(sections[0].seatsPerRow);
    expect(new Set(sections.map((s) => s.name)).size).toBe(sections.length);
    const prices = sections.map((s) => s.price);
    expect([...prices].sort((a, b) => b - a)).toEqual(prices);
  });

  it('scores every seat of a dearer grade above every seat of a cheaper one (best available offers VIP first)', () => {
    const sections = layoutFor(2000);
    const qualities = generateLayout(sections).map((geometry) => geometry.quality);
    for (let i = 1; i < qualities.length; i += 1) {
      expect(Math.min(...qualities[i - 1]), sections[i].grade).toBeGreaterThan(Math.max(...qualities[i]));
    }
  });
});
