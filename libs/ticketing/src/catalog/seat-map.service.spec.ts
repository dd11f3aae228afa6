import { describe, expect, it, vi } from 'vitest';
import { MapSeatRow, PerformanceRepository } from '@app/database';
import { NotFoundError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import type { SeatStatus } from '../seats/seat-status';
import { CatalogCopies } from './catalog-copies';
import type { Performance } from './catalog.types';
import { buildSeatMap, SeatMapService } from './seat-map.service';

const performance: Performance = {
  id: 7,
  eventId: 1,
  startsAt: new Date('2030-01-01T20:00:00Z'),
  salesOpenAt: new Date('2029-12-01T10:00:00Z'),
  salesCloseAt: null,
  cancelUntil: null,
  status: 'ON_SALE',
  totalSeats: 5,
  currency: 'EUR',
  eventTitle: 'Concert',
  venue: 'Hall',
  timeZone: 'UTC',
};

/** Section A: 2 rows of 2; section B: 1 row of 1; in position order. */
const ROWS: MapSeatRow[] = [
  {
    id: 11,
    section: 'A',
    row: 1,
    rowLabel: 'A',
    number: 1,
    grade: 'R',
    price: 900,
    x: -2,
    y: 1,
    quality: 800,
    accessible: true,
    companion: false,
  },
  {
    id: 12,
    section: 'A',
    row: 1,
    rowLabel: 'A',
    number: 2,
    grade: 'R',
    price: 900,
    x: -1,
    y: 1,
    quality: 900,
    accessible: false,
    companion: true,
  },
  {
    id: 13,
    section: 'A',
    row: 2,
    rowLabel: 'B',
    number: 1,
    grade: 'R',
    price: 900,
    x: -2,
    y: 2,
    quality: 100,
    accessible: false,
    companion: false,
  },
  {
    id: 14,
    section: 'A',
    row: 2,
    rowLabel: 'B',
    number: 2,
    grade: 'R',
    price: 900,
    x: -1,
    y: 2,
    quality: 300,
    accessible: false,
    companion: false,
  },
  {
    id: 15,
    section: 'B',
    row: 1,
    rowLabel: 'A',
    number: 1,
    grade: 'S',
    price: 500,
    x: 2,
    y: 1,
    quality: 1000,
    accessible: false,
    companion: false,
  },
];
const STATUSES: SeatStatus[] = ['AVAILABLE', 'HELD', 'SOLD', 'AVAILABLE', 'SOLD'];

function setup(options: { held?: string; current?: string[]; registered?: boolean[] } = {}) {
  let local = options.held ?? '1';
  const currents = [...(options.current ?? [])];
  const registered = [...(options.registered ?? [])];
  const copies = {
    version: vi.fn(async () => local),
    currentVersion: vi.fn(async () => currents.shift() ?? local),
    observe: vi.fn((version: string) => (local = version)),
    performance: vi.fn(async () => performance),
  };
  const repository = { seatMap: vi.fn(async () => ({ focalPoint: { x: 0, y: 0 }, seats: ROWS })) };
  const seatState = {
    registeredStatuses: vi.fn(async (_id: number, ids: number[]) =>
      (registered.shift() ?? true) ? ids.map((id) => STATUSES[id - 11]) : null,
    ),
  };
  const rebuilder = { ensure: vi.fn(async () => {}) };
  const service = new SeatMapService(
    copies as unknown as CatalogCopies,
    repository as unknown as PerformanceRepository,
    seatState as unknown as SeatStateStore,
    rebuilder as unknown as SeatStateRebuilder,
  );
  return { service, copies, repository, seatState, rebuilder };
}

describe('buildSeatMap', () => {
  it('groups seats into sections and rows in layout order, with bounds', () => {
    const map = buildSeatMap('3', performance, { x: 0, y: -1 }, ROWS);
    expect(map.seatIds).toEqual([11, 12, 13, 14, 15]);
    expect(map.bounds).toEqual({ minX: -2, minY: 1, maxX: 2, maxY: 2 });
    expect(map.sections.map((s) => [s.name, s.grade, s.price, s.currency])).toEqual([
      ['A', 'R', 900, 'EUR'],
      ['B', 'S', 500, 'EUR'],
    ]);
    expect(map.sections[0].bounds).toEqual({ minX: -2, minY: 1, maxX: -1, maxY: 2 });
    expect(map.sections[0].rows.map((r) => [r.row, r.rowLabel, r.seats.map((seat) => seat.id)])).toEqual([
      [1, 'A', [11, 12]],
      [2, 'B', [13, 14]],
    ]);
    expect(map.sections[0].rows[0].seats[0]).toEqual({
      id: 11,
      row: 1,
      rowLabel: 'A',
      number: 1,
      x: -2,
      y: 1,
      quality: 800,
      accessible: true,
      companion: false,
    });
    expect(Object.isFrozen(map.sections[0].rows[0].seats[0])).toBe(true);
  });

  it('a row number that repeats in the next section still starts a new row', () => {
    const map = buildSeatMap('3', performance, { x: 0, y: 0 }, [ROWS[0], { ...ROWS[4], row: 1 }]);
    expect(map.sections.map((s) => s.rows.length)).toEqual([1, 1]);
  });
});

describe('SeatMapService', () => {
  it('lays the live statuses over the map, in its seat order', async () => {
    const { service } = setup();
    const live = await service.getMap(7);
    expect(live.statuses).toEqual(STATUSES);
    expect(live.map.version).toBe('1');
  });

  it('builds the static map once per catalog version, also for concurrent first requests', async () => {
    const { service, repository } = setup();
    const [a, b] = await Promise.all([service.getMap(7), service.getMap(7)]);
    const c = await service.getMap(7);
    expect(repository.seatMap).toHaveBeenCalledTimes(1);
    expect(b.map).toBe(a.map);
    expect(c.map).toBe(a.map);
  });

  it('rebuilds under the new version when an admin write moved it meanwhile', async () => {
    const { service, repository, copies } = setup({ held: '1', current: ['2'] });
    const live = await service.getMap(7);
    expect(copies.observe).toHaveBeenCalledWith('2');
    expect(repository.seatMap).toHaveBeenCalledTimes(2);
    expect(live.map.version).toBe('2');
  });

  it('rebuilds a lost seat state, then answers', async () => {
    const { service, rebuilder } = setup({ registered: [false] });
    expect((await service.getMap(7)).statuses).toEqual(STATUSES);
    expect(rebuilder.ensure).toHaveBeenCalledWith(7);
  });

  it('NotFound when the seat state stays missing, or the performance is unknown', async () => {
    const lost = setup({ registered: [false, false, false] });
    await expect(lost.service.getMap(7)).rejects.toBeInstanceOf(NotFoundError);
    const unknown = setup();
    unknown.copies.performance.mockRejectedValue(new NotFoundError('performance'));
    await expect(unknown.service.getMap(7)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps no failed build: the next request loads again', async () => {
    const { service, repository } = setup();
    repository.seatMap.mockRejectedValueOnce(new Error('connection reset'));
    await expect(service.getMap(7)).rejects.toThrow('connection reset');
    expect((await service.getMap(7)).statuses).toEqual(STATUSES);
    expect(repository.seatMap).toHaveBeenCalledTimes(2);
  });
});
