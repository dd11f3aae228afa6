import { describe, expect, it } from 'vitest';
import type { Performance, SeatListing } from './catalog.types';
import { LOCAL_CATALOG_MAX_SEATS, LocalCatalog } from './local-catalog';

const performance = (id: number): Performance => ({
  id,
  eventId: 1,
  startsAt: new Date('2027-03-01T10:00:00.000Z'),
  salesOpenAt: new Date('2027-02-01T10:00:00.000Z'),
  salesCloseAt: null,
  cancelUntil: null,
  status: 'ON_SALE',
  totalSeats: 100,
  currency: 'KRW',
  eventTitle: 'Concert',
  venue: 'Hall',
  timeZone: 'UTC',
});
const block = (first: number, count = 100): SeatListing[] =>
  Array.from({ length: count }, (_, i) => ({
    id: first + i,
    position: first + i,
    section: 'A',
    row: 1,
    rowLabel: 'A',
    number: i + 1,
    grade: 'R',
    price: 1000,
    currency: 'KRW',
  }));

describe('LocalCatalog', () => {
  it('keeps copies of the version it has observed, and drops them all when another is observed', () => {
    const local = new LocalCatalog();
    expect(local.version).toBeNull();
    local.observe('3');
    local.keepPerformance('3', performance(1));
    local.keepSeatBlock('3', 1, 0, block(1));
    expect(local.performance(1)).toEqual(performance(1));
    expect(local.seatBlock(1, 0)).toHaveLength(100);

    local.observe('3');
    expect(local.performance(1)).toEqual(performance(1));
    local.observe('4');
    expect(local.version).toBe('4');
    expect(local.performance(1)).toBeUndefined();
    expect(local.seatBlock(1, 0)).toBeUndefined();
    expect(local.size).toBe(0);
  });

  it('ignores copies loaded under a version that is no longer the current one', () => {
    const local = new LocalCatalog();
    local.observe('5');
    local.keepPerformance('4', performance(1));
    local.keepSeatBlock('4', 1, 0, block(1));
    expect(local.performance(1)).toBeUndefined();
    expect(local.seatBlock(1, 0)).toBeUndefined();
  });

  it('is bounded in seats: the least recently used blocks go first', () => {
    const local = new LocalCatalog(1_000);
    local.observe('1');
    for (let b = 0; b < 30; b += 1) {
      local.keepSeatBlock('1', 7, b, block(b * 100 + 1));
      if (b > 0) expect(local.seatBlock(7, 0)).toBeDefined(); // block 0 stays in use
    }
    expect(local.size).toBeLessThanOrEqual(1_000);
    expect(local.seatBlock(7, 0)).toBeDefined();
    expect(local.seatBlock(7, 29)).toBeDefined();
    expect(local.seatBlock(7, 1)).toBeUndefined();
    const kept = Array.from({ length: 30 }, (_, b) => local.seatBlock(7, b)).filter(Boolean);
    expect(kept).toHaveLength(10);
  });

  it('has a default bound of LOCAL_CATALOG_MAX_SEATS seats', () => {
    const local = new LocalCatalog();
    local.observe('1');
    const blocks = LOCAL_CATALOG_MAX_SEATS / 100 + 50;
    const seats = block(1);
    for (let b = 0; b < blocks; b += 1) local.keepSeatBlock('1', 1, b, seats);
    expect(local.size).toBe(LOCAL_CATALOG_MAX_SEATS);
    expect(local.seatBlock(1, 0)).toBeUndefined();
    expect(local.seatBlock(1, blocks - 1)).toBeDefined();
  });
});
