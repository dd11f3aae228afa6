import { describe, expect, it, vi } from 'vitest';
import { PerformanceRepository, PresalesRepository, PricedPerformance } from '@app/database';
import { FakeClock } from '@app/testing';
import { NotFoundError } from '../errors';
import { CatalogCache } from './catalog-cache';
import { CatalogCopies } from './catalog-copies';
import { LocalCatalog } from './local-catalog';
import { SeatDirectory } from './seat-directory';

const NOW_MS = Date.parse('2029-12-01T10:05:00Z');

const ROW = {
  id: 7,
  eventId: 1,
  startsAt: new Date('2030-01-15T00:30:00Z'),
  salesOpenAt: new Date('2029-12-01T10:00:00Z'),
  salesCloseAt: null,
  cancelUntil: null,
  status: 'ON_SALE',
  totalSeats: 80_000,
  currency: 'KRW',
  eventTitle: 'Finals',
  venue: 'Stadium',
  timeZone: 'Asia/Seoul',
  seatsVersion: 0,
  noOrphanSeats: false,
} as unknown as PricedPerformance;

/** Copies over a Redis cache that always misses (it runs the loader) and a repository holding `row`. */
function copiesOver(row: PricedPerformance | null = ROW, seatDirectory?: SeatDirectory) {
  const findById = vi.fn(async () => row);
  const cache = { getOrLoadAt: vi.fn((_version: string, _name: string, load: () => Promise<unknown>) => load()) };
  const local = new LocalCatalog();
  local.observe('5');
  const directory = { warm: vi.fn(() => true) };
  const clock = new FakeClock(NOW_MS);
  const copies = new CatalogCopies(
    { findById } as unknown as PerformanceRepository,
    cache as unknown as CatalogCache,
    local,
    seatDirectory ?? (directory as unknown as SeatDirectory),
    clock,
    { list: vi.fn(async () => []) } as unknown as PresalesRepository,
  );
  return { copies, findById, directory, clock };
}

describe('CatalogCopies.performance', () => {
  it('loads a performance once for callers that miss it at the same time, then serves the copy', async () => {
    const { copies, findById } = copiesOver();
    const first = await Promise.all(Array.from({ length: 64 }, () => copies.performance('5', 7)));
    expect(findById).toHaveBeenCalledTimes(1);
    expect(new Set(first).size).toBe(1);
    expect(first[0]).toMatchObject({ id: 7, eventTitle: 'Finals', totalSeats: 80_000 });
    await copies.performance('5', 7);
    expect(findById).toHaveBeenCalledTimes(1);
  });

  it("asks the seat directory to warm up for each performance it loads, at the clock's now", async () => {
    const { copies, directory } = copiesOver();
    const loaded = await copies.performance('5', 7);
    await copies.performance('5', 7);
    expect(directory.warm.mock.calls).toEqual([[loaded, NOW_MS]]);
  });

  it('warms a copy kept from more than an hour before its sales open once that hour comes, on its next read', async () => {
    const seatGroupsOf = vi.fn(async () => []);
    const directory = new SeatDirectory({ seatGroupsOf } as unknown as PerformanceRepository);
    const opensLater = { ...ROW, salesOpenAt: new Date(NOW_MS + 2 * 60 * 60_000) } as PricedPerformance;
    const { copies, clock } = copiesOver(opensLater, directory);
    await copies.performance('5', 7);
    expect(seatGroupsOf).not.toHaveBeenCalled();
    // No catalog change since: the page's later reads are served from the kept copy.
    clock.advance(61 * 60_000);
    await copies.performance('5', 7);
    expect(seatGroupsOf).toHaveBeenCalledTimes(1);
    await copies.performance('5', 7);
    expect(seatGroupsOf).toHaveBeenCalledTimes(1);
  });

  it('keeps no failed load: a performance not found is not found for every waiter, and read again next time', async () => {
    const { copies, findById } = copiesOver(null);
    const waiters = Array.from({ length: 3 }, () => copies.performance('5', 8));
    for (const waiter of waiters) await expect(waiter).rejects.toThrow(NotFoundError);
    expect(findById).toHaveBeenCalledTimes(1);
    await expect(copies.performance('5', 8)).rejects.toThrow(NotFoundError);
    expect(findById).toHaveBeenCalledTimes(2);
  });
});

describe('CatalogCopies.seatsAt', () => {
  it('answers the seats at the positions asked, in order, loading each block they fall in once', async () => {
    const seatsByPosition = vi.fn(async (_id: number, from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => ({
        id: 5000 + from + i,
        position: from + i,
        section: 'A',
        row: 1,
        number: from + i,
        grade: 'R',
        price: 100,
      })),
    );
    const cache = {
      getOrLoadSeatBlock: vi.fn((_id: number, _v: number, _block: number, load: () => Promise<unknown>) => load()),
    };
    const local = new LocalCatalog();
    local.observe('5');
    const copies = new CatalogCopies(
      { seatsByPosition } as unknown as PerformanceRepository,
      cache as unknown as CatalogCache,
      local,
      { warm: vi.fn() } as unknown as SeatDirectory,
      new FakeClock(NOW_MS),
      {} as PresalesRepository,
    );
    const performance = { id: 7, totalSeats: 1000, currency: 'KRW' } as Parameters<CatalogCopies['seatsAt']>[1];
    const seats = await copies.seatsAt('5', performance, [1, 100, 101, 250, 1000]);
    expect(seats.map((seat) => [seat.position, seat.id])).toEqual([
      [1, 5001],
      [100, 5100],
      [101, 5101],
      [250, 5250],
      [1000, 6000],
    ]);
    expect(seatsByPosition.mock.calls.map(([, from]) => from)).toEqual([1, 101, 201, 901]);
    // Kept in the process: asked again, no block is loaded.
    await copies.seatsAt('5', performance, [2, 3]);
    expect(seatsByPosition).toHaveBeenCalledTimes(4);
  });
});
