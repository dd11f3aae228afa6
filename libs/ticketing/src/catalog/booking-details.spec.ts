import { describe, expect, it, vi } from 'vitest';
import { PerformanceRepository, PresalesRepository, SeatGroupRow, SeatRow } from '@app/database';
import { NotFoundError } from '../errors';
import { BookingDescriber } from './booking-details';
import { CatalogCopies } from './catalog-copies';
import type { Performance } from './catalog.types';
import { SEAT_DIRECTORY_MAX_SEATS, SEAT_DIRECTORY_RUSH_MS, SeatDirectory } from './seat-directory';

const performance: Performance = {
  id: 7,
  eventId: 1,
  startsAt: new Date('2030-01-15T00:30:00Z'),
  salesOpenAt: new Date('2029-12-01T10:00:00Z'),
  salesCloseAt: null,
  cancelUntil: null,
  status: 'ON_SALE',
  totalSeats: 3,
  currency: 'EUR',
  eventTitle: 'Hamilton',
  venue: 'Richard Rodgers Theatre',
  timeZone: 'America/New_York',
};

const ROWS: SeatRow[] = [
  { id: 11, position: 1, section: 'A', row: 1, rowLabel: 'A', number: 1, grade: 'R', price: 900 },
  { id: 12, position: 2, section: 'A', row: 1, rowLabel: 'A', number: 2, grade: 'R', price: 900 },
  { id: 13, position: 3, section: 'B', row: 1, rowLabel: 'A', number: 1, grade: 'S', price: 500 },
];

/** What `seatGroupsOf` answers for `rows`: one row per section, row, grade and price. */
function groupsOf(rows: SeatRow[]): SeatGroupRow[] {
  const groups = new Map<string, SeatGroupRow>();
  for (const seat of [...rows].sort((a, b) => a.position - b.position)) {
    const key = [seat.section, seat.row, seat.grade, seat.price].join('|');
    const group = groups.get(key);
    if (group) {
      group.ids += `,${seat.id}`;
      group.numbers += `,${seat.number}`;
      group.positions += `,${seat.position}`;
    } else {
      const { section, row, rowLabel, grade, price } = seat;
      groups.set(key, {
        section,
        row,
        rowLabel,
        grade,
        price,
        ids: `${seat.id}`,
        numbers: `${seat.number}`,
        positions: `${seat.position}`,
      });
    }
  }
  return [...groups.values()];
}

function directoryOver(rows: SeatRow[] = ROWS) {
  const seatGroupsOf = vi.fn(async () => groupsOf(rows));
  return { seatGroupsOf, directory: new SeatDirectory({ seatGroupsOf } as unknown as PerformanceRepository) };
}

describe('SeatDirectory', () => {
  it('answers seats in the asked order, one PostgreSQL read per performance shared by concurrent callers', async () => {
    const { seatGroupsOf, directory } = directoryOver();
    const [first, second] = await Promise.all([
      directory.seats(performance, [13, 11]),
      directory.seats(performance, [12]),
    ]);
    expect(first.map((seat) => [seat.id, seat.section, seat.row, seat.number, seat.grade, seat.price])).toEqual([
      [13, 'B', 1, 1, 'S', 500],
      [11, 'A', 1, 1, 'R', 900],
    ]);
    expect(first[0].currency).toBe('EUR');
    expect(second.map((seat) => seat.id)).toEqual([12]);
    await directory.seats(performance, [11]);
    expect(seatGroupsOf).toHaveBeenCalledTimes(1);
  });

  it('reads again for a new seatsVersion (a section price changed), and leaves out ids the performance lacks', async () => {
    const { seatGroupsOf, directory } = directoryOver();
    await directory.seats(performance, [11]);
    seatGroupsOf.mockResolvedValueOnce(groupsOf(ROWS.map((row) => ({ ...row, price: row.price + 100 }))));
    const repriced = await directory.seats({ ...performance, seatsVersion: 1 }, [11, 99]);
    expect(repriced.map((seat) => [seat.id, seat.price])).toEqual([[11, 1000]]);
    expect(seatGroupsOf).toHaveBeenCalledTimes(2);
  });

  it('finds every seat whatever the order and gaps of its ids (runs of consecutive ids), and no id between them', async () => {
    // Ids in runs broken inside a group, a group whose ids fall before another's, a lone id.
    const rows: SeatRow[] = [
      { id: 40, position: 1, section: 'A', row: 1, rowLabel: 'A', number: 1, grade: 'R', price: 900 },
      { id: 41, position: 2, section: 'A', row: 1, rowLabel: 'A', number: 2, grade: 'R', price: 900 },
      { id: 45, position: 3, section: 'A', row: 1, rowLabel: 'A', number: 3, grade: 'R', price: 900 },
      { id: 46, position: 4, section: 'A', row: 1, rowLabel: 'A', number: 4, grade: 'R', price: 900 },
      { id: 5, position: 5, section: 'A', row: 2, rowLabel: 'B', number: 10, grade: 'R', price: 900 },
      { id: 6, position: 6, section: 'A', row: 2, rowLabel: 'B', number: 11, grade: 'R', price: 900 },
      { id: 42, position: 7, section: 'B', row: 1, rowLabel: 'A', number: 1, grade: 'S', price: 500 },
      { id: 2_147_483_647, position: 8, section: 'B', row: 1, rowLabel: 'A', number: 2, grade: 'S', price: 500 },
    ];
    const { directory } = directoryOver(rows);
    const ids = [46, 5, 42, 2_147_483_647, 40, 6, 45, 41];
    const seats = await directory.seats(performance, [...ids, 1, 4, 7, 39, 43, 44, 47, 2_147_483_646]);
    expect(seats.map((seat) => [seat.id, seat.section, seat.row, seat.number, seat.position])).toEqual(
      ids.map((id) => {
        const row = rows.find((seat) => seat.id === id)!;
        return [id, row.section, row.row, row.number, row.position];
      }),
    );
  });

  it('keeps no failed read: the next caller reads again', async () => {
    const { seatGroupsOf, directory } = directoryOver();
    seatGroupsOf.mockRejectedValueOnce(new Error('connection lost'));
    await expect(directory.seats(performance, [11])).rejects.toThrow('connection lost');
    expect((await directory.seats(performance, [11])).map((seat) => seat.id)).toEqual([11]);
    expect(seatGroupsOf).toHaveBeenCalledTimes(2);
  });
});

describe('SeatDirectory.warm', () => {
  const opensAt = performance.salesOpenAt.getTime();

  it('loads a performance selling now, or opening within the hour, once; its first seats() reads nothing more', async () => {
    for (const nowMs of [opensAt + 60_000, opensAt - SEAT_DIRECTORY_RUSH_MS]) {
      const { seatGroupsOf, directory } = directoryOver();
      expect(directory.warm(performance, nowMs)).toBe(true);
      expect(directory.warm(performance, nowMs)).toBe(true);
      expect(seatGroupsOf).toHaveBeenCalledTimes(1);
      expect((await directory.seats(performance, [12])).map((seat) => seat.id)).toEqual([12]);
      directory.warm(performance, nowMs);
      expect(seatGroupsOf).toHaveBeenCalledTimes(1);
    }
  });

  it('loads nothing for a performance opening later (asked again: false), or whose sales are over, paused or canceled', () => {
    const cases: [Performance, number, boolean][] = [
      [performance, opensAt - SEAT_DIRECTORY_RUSH_MS - 1, false],
      [performance, performance.startsAt.getTime(), true],
      [{ ...performance, status: 'PAUSED' }, opensAt + 60_000, true],
      [{ ...performance, status: 'CANCELED' }, opensAt + 60_000, true],
    ];
    for (const [subject, nowMs, done] of cases) {
      const { seatGroupsOf, directory } = directoryOver();
      expect(directory.warm(subject, nowMs)).toBe(done);
      expect(seatGroupsOf).not.toHaveBeenCalled();
    }
  });

  it('after the rush, loads a performance still on sale only into free room; in the rush it evicts another', async () => {
    /** One group of `count` seats with ids from `first`, for a performance of that size. */
    const groupOf = (first: number, count: number): SeatGroupRow => {
      const list = Array.from({ length: count }, (_, i) => first + i).join(',');
      return { section: 'A', row: 1, rowLabel: 'A', grade: 'R', price: 900, ids: list, numbers: list, positions: list };
    };
    const stadium = { ...performance, id: 8, totalSeats: SEAT_DIRECTORY_MAX_SEATS - 50_000 };
    const arena = { ...performance, id: 9, totalSeats: 60_000 };
    const seatGroupsOf = vi.fn(async (id: number) =>
      id === stadium.id ? [groupOf(1, stadium.totalSeats)] : [groupOf(500_000, arena.totalSeats)],
    );
    const directory = new SeatDirectory({ seatGroupsOf } as unknown as PerformanceRepository);
    await directory.seats(stadium, [1]);
    const weekAfterOpening = opensAt + 7 * 24 * 3_600_000;
    expect(directory.warm(arena, weekAfterOpening)).toBe(false);
    expect(seatGroupsOf).toHaveBeenCalledTimes(1);
    expect(directory.keptSeats(stadium, [1])).toHaveLength(1);

    expect(directory.warm(arena, opensAt + SEAT_DIRECTORY_RUSH_MS)).toBe(true);
    await vi.waitFor(() => expect(directory.keptSeats(arena, [500_000])).toHaveLength(1));
    expect(directory.keptSeats(stadium, [1])).toBeUndefined();
  });

  it('after the rush, counts the loads under way against the free room: two browsed at once evict nothing', async () => {
    const groupOf = (first: number, count: number): SeatGroupRow => {
      const list = Array.from({ length: count }, (_, i) => first + i).join(',');
      return { section: 'A', row: 1, rowLabel: 'A', grade: 'R', price: 900, ids: list, numbers: list, positions: list };
    };
    const stadium = { ...performance, id: 8, totalSeats: SEAT_DIRECTORY_MAX_SEATS - 50_000 };
    const arenas = [
      { ...performance, id: 9, totalSeats: 30_000 },
      { ...performance, id: 10, totalSeats: 30_000 },
    ];
    const seatGroupsOf = vi.fn(async (id: number) =>
      id === stadium.id
        ? [groupOf(1, stadium.totalSeats)]
        : [groupOf(id * 100_000, arenas.find((arena) => arena.id === id)!.totalSeats)],
    );
    const directory = new SeatDirectory({ seatGroupsOf } as unknown as PerformanceRepository);
    await directory.seats(stadium, [1]);
    const weekAfterOpening = opensAt + 7 * 24 * 3_600_000;
    // Each fits the free room alone; the second is warmed while the first still loads.
    expect(directory.warm(arenas[0], weekAfterOpening)).toBe(true);
    expect(directory.warm(arenas[1], weekAfterOpening)).toBe(false);
    await vi.waitFor(() => expect(directory.keptSeats(arenas[0], [900_000])).toHaveLength(1));
    expect(directory.keptSeats(stadium, [1])).toHaveLength(1);
    expect(seatGroupsOf).toHaveBeenCalledTimes(2);
  });

  it("drops a performance's older seats version once a newer one loads (a price change: copies read the new one)", async () => {
    const { seatGroupsOf, directory } = directoryOver();
    await directory.seats(performance, [11]);
    await directory.seats({ ...performance, seatsVersion: 1 }, [11]);
    expect(directory.keptSeats(performance, [11])).toBeUndefined();
    expect(directory.keptSeats({ ...performance, seatsVersion: 1 }, [11])).toHaveLength(1);
    // A late reader of the older version reads it again, and keeps the newer one.
    await directory.seats(performance, [11]);
    expect(seatGroupsOf).toHaveBeenCalledTimes(3);
    expect(directory.keptSeats({ ...performance, seatsVersion: 1 }, [11])).toHaveLength(1);
  });

  it('drops a failed load without a rejection anyone must handle: the next seats() reads again and answers', async () => {
    const { seatGroupsOf, directory } = directoryOver();
    seatGroupsOf.mockRejectedValueOnce(new Error('connection lost'));
    directory.warm(performance, opensAt);
    expect(seatGroupsOf).toHaveBeenCalledTimes(1);
    // The mock's rejection settles within the microtasks run before the next macrotask.
    await new Promise(setImmediate);
    expect((await directory.seats(performance, [11])).map((seat) => seat.id)).toEqual([11]);
    expect(seatGroupsOf).toHaveBeenCalledTimes(2);
  });
});

describe('BookingDescriber', () => {
  function describer(copy: (version: string, id: number) => Promise<Performance>, kept?: Performance) {
    const copies = {
      currentVersion: vi.fn(async () => '5'),
      observe: vi.fn(),
      performance: vi.fn(copy),
      keptPerformance: vi.fn((): Performance | undefined => kept),
    };
    const { directory, seatGroupsOf } = directoryOver();
    // PostgreSQL's names: presale 9 deleted, its name kept by its deletion's audit row.
    const presales = {
      namesOf: vi.fn(async (asked: { presaleId: string }[]) => {
        const known = new Map([['9', 'Card issuer (deleted)']]);
        return new Map(
          asked.flatMap(({ presaleId }) => (known.has(presaleId) ? [[presaleId, known.get(presaleId)!]] : [])),
        );
      }),
    };
    return {
      copies,
      seatGroupsOf,
      presales,
      describer: new BookingDescriber(
        copies as unknown as CatalogCopies,
        directory,
        presales as unknown as PresalesRepository,
      ),
    };
  }

  describe("a presale purchase's presale", () => {
    const withPresales: Performance = {
      ...performance,
      presales: [{ id: '4', name: 'Fan club', opensAt: new Date(0), closesAt: new Date(1) }],
    };
    const purchase = (presaleId?: string) => ({
      id: `p-${presaleId}`,
      performanceId: 7,
      seatIds: [12],
      amount: 900,
      ...(presaleId ? { presaleId } : {}),
    });

    it("is named from the performance's copy, without asking PostgreSQL, kept or loaded", async () => {
      for (const kept of [undefined, withPresales]) {
        const { describer: subject, presales } = describer(async () => withPresales, kept);
        const described = await subject.describe(Promise.resolve(purchase('4')));
        expect(described.details.presale).toEqual({ id: '4', name: 'Fan club' });
        expect((await subject.describe(Promise.resolve(purchase()))).details.presale).toBeNull();
        const listed = await subject.describeAll(Promise.resolve([purchase('4'), purchase()]));
        expect(listed.map((one) => one.details.presale)).toEqual([{ id: '4', name: 'Fan club' }, null]);
        expect(presales.namesOf).not.toHaveBeenCalled();
      }
    });

    it('a presale the copy does not list (deleted since, or a copy without presales) is named from PostgreSQL, once for a list', async () => {
      for (const copy of [withPresales, performance]) {
        const { describer: subject, presales } = describer(async () => copy, copy);
        expect((await subject.describe(Promise.resolve(purchase('9')))).details.presale).toEqual({
          id: '9',
          name: 'Card issuer (deleted)',
        });
        expect(presales.namesOf).toHaveBeenCalledWith([{ performanceId: 7, presaleId: '9' }]);
        presales.namesOf.mockClear();
        const listed = await subject.describeAll(Promise.resolve([purchase('9'), purchase('4'), purchase('77')]));
        expect(listed.map((one) => one.details.presale)).toEqual([
          { id: '9', name: 'Card issuer (deleted)' },
          { id: '4', name: copy === withPresales ? 'Fan club' : null },
          // Found nowhere: its id, without a name.
          { id: '77', name: null },
        ]);
        expect(presales.namesOf).toHaveBeenCalledTimes(1);
      }
    });

    it('is answered without its name when PostgreSQL fails to answer, not failed', async () => {
      const { describer: subject, presales } = describer(async () => withPresales, withPresales);
      presales.namesOf.mockRejectedValue(new Error('database unavailable'));
      expect((await subject.describe(Promise.resolve(purchase('9')))).details.presale).toEqual({ id: '9', name: null });
      const listed = await subject.describeAll(Promise.resolve([purchase('9'), purchase('4')]));
      expect(listed.map((one) => one.details.presale)).toEqual([
        { id: '9', name: null },
        { id: '4', name: 'Fan club' },
      ]);
    });
  });

  it('describes from what the process holds without loading, the same as from a load', async () => {
    const { copies, seatGroupsOf, describer: subject } = describer(async () => performance, performance);
    const hold = { id: 'h1', performanceId: 7, seatIds: [12, 13], amount: 1400 };
    // The seats are not held yet: loaded once.
    const loaded = await subject.describe(Promise.resolve(hold));
    expect(copies.performance).toHaveBeenCalledTimes(1);
    const kept = await subject.describe(Promise.resolve(hold));
    expect(kept).toEqual(loaded);
    expect(copies.performance).toHaveBeenCalledTimes(1);
    expect(seatGroupsOf).toHaveBeenCalledTimes(1);
    expect(copies.observe).toHaveBeenCalledTimes(2);
  });

  it('adds the event, venue, zone, start and seats from the copies of the version read alongside the work', async () => {
    const { copies, describer: subject } = describer(async () => performance);
    const hold = { id: 'h1', performanceId: 7, seatIds: [12, 13], amount: 1400 };
    const described = await subject.describe(Promise.resolve(hold));
    expect(copies.observe).toHaveBeenCalledWith('5');
    expect(copies.performance).toHaveBeenCalledWith('5', 7);
    expect(described).toMatchObject({
      ...hold,
      details: {
        eventTitle: 'Hamilton',
        venue: 'Richard Rodgers Theatre',
        timeZone: 'America/New_York',
        startsAt: performance.startsAt,
      },
    });
    expect(described.details.seats.map((seat) => seat.id)).toEqual([12, 13]);
    expect(await subject.describeAll(Promise.resolve([hold, { ...hold, id: 'h2', seatIds: [11] }]))).toHaveLength(2);
  });

  it("shows the booking's own seat prices over the catalog's, and the catalog's for a booking without", async () => {
    const { describer: subject } = describer(async () => performance, performance);
    const hold = { id: 'h1', performanceId: 7, seatIds: [13, 12], seatPrices: [450, 1050], amount: 1500 };
    const prices = (described: { details: { seats: { id: number; price: number }[] } }) =>
      described.details.seats.map((seat) => [seat.id, seat.price]);
    expect(prices(await subject.describe(Promise.resolve(hold)))).toEqual([
      [13, 450],
      [12, 1050],
    ]);
    const [listed] = await subject.describeAll(Promise.resolve([hold]));
    expect(prices(listed)).toEqual([
      [13, 450],
      [12, 1050],
    ]);
    const older = { id: 'h2', performanceId: 7, seatIds: [13, 12], amount: 1400 };
    expect(prices(await subject.describe(Promise.resolve(older)))).toEqual([
      [13, 500],
      [12, 900],
    ]);
  });

  it('leaves a booking whose performance is gone out of a list, and passes on other errors', async () => {
    const gone = describer(async (_version, id) => {
      if (id === 8) throw new NotFoundError('performance');
      return performance;
    }).describer;
    const live = { id: 'h1', performanceId: 7, seatIds: [12], amount: 700 };
    const listed = await gone.describeAll(
      Promise.resolve([live, { id: 'h2', performanceId: 8, seatIds: [1], amount: 5 }]),
    );
    expect(listed.map((booking) => booking.id)).toEqual(['h1']);
    const failing = describer(async () => {
      throw new Error('copies unreachable');
    }).describer;
    await expect(failing.describeAll(Promise.resolve([live]))).rejects.toThrow('copies unreachable');
  });

  it("throws the work's error, and NotFoundError for a performance gone", async () => {
    const { describer: subject } = describer(async () => {
      throw new NotFoundError('performance');
    });
    await expect(subject.describe(Promise.reject(new Error('hold refused')))).rejects.toThrow('hold refused');
    await expect(subject.describe(Promise.resolve({ performanceId: 8, seatIds: [1] }))).rejects.toThrow(NotFoundError);
  });
});
