import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { DomainError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import type { SeatStatus } from '../seats/seat-status';
import { CatalogCopies } from './catalog-copies';
import type { Performance, SeatListing } from './catalog.types';
import { assertSeatFilter, filterDigest, MAX_PRICE, matchesSeatFilter, SeatFilter } from './seat-filter';
import { SeatPageService } from './seat-page.service';
import { gradeKey, sectionNameKey } from './section-names';
import { SectionService } from './section.service';

const STATUSES: SeatStatus[] = ['AVAILABLE', 'HELD', 'SOLD'];
const SECTIONS = ['A', 'B', 'C'];
const GRADES = ['R', 'S'];
const PRICES = [0, 10, 20, 50];

/**
 * A performance of `statuses.length` seats, static data spread over sections, grades and prices;
 * `index` false: the free bitmap cannot answer (pages read statuses).
 */
function layout(statuses: SeatStatus[], index = true) {
  const seats: SeatListing[] = statuses.map((_, i) => ({
    id: 1000 + i,
    position: i + 1,
    section: SECTIONS[Math.floor((i * SECTIONS.length) / statuses.length)],
    row: 1,
    rowLabel: 'A',
    number: i + 1,
    grade: GRADES[i % 2],
    price: PRICES[(i * 7) % PRICES.length],
    currency: 'KRW',
  }));
  const performance = { id: 7, totalSeats: seats.length, currency: 'KRW' } as Performance;
  const copies = {
    version: vi.fn(async () => '1'),
    currentVersion: vi.fn(async () => '1'),
    observe: vi.fn(),
    performance: vi.fn(async () => performance),
    seatsAfter: vi.fn(async (_v: string, _p: Performance, position: number, count: number) =>
      seats.filter((seat) => seat.position > position).slice(0, count),
    ),
    seatsAt: vi.fn(async (_v: string, _p: Performance, positions: number[]) =>
      positions.map((position) => seats[position - 1]),
    ),
  };
  const seatState = {
    registeredStatuses: vi.fn(async (_id: number, ids: number[]) => ids.map((id) => statuses[id - 1000])),
    freeSeatsAfter: vi.fn(async (_id: number, after: number, want: number, last: number) => {
      if (!index) return 'NO_INDEX';
      const free = seats
        .filter((seat, i) => seat.position > after && seat.position <= last && statuses[i] === 'AVAILABLE')
        .map((seat) => seat.position);
      return { positions: free.slice(0, want), looked: free.length >= want ? free[want - 1] : last };
    }),
  };
  // The sections the seats are of, as the catalog lists them.
  const sections = {
    layout: vi.fn(async () => ({
      currency: 'KRW',
      sections: seats.map((seat) => ({ name: seat.section, grade: seat.grade })),
    })),
  };
  const service = new SeatPageService(
    copies as unknown as CatalogCopies,
    seatState as unknown as SeatStateStore,
    { ensure: vi.fn() } as unknown as SeatStateRebuilder,
    sections as unknown as SectionService,
  );
  return { seats, service, seatState, copies };
}

const filters: fc.Arbitrary<SeatFilter> = fc
  .record(
    {
      section: fc.constantFrom(...SECTIONS, 'Z'),
      grade: fc.constantFrom(...GRADES, 'X'),
      minPrice: fc.constantFrom(0, 10, 15, 50),
      maxPrice: fc.constantFrom(10, 20, 50, MAX_PRICE),
    },
    { requiredKeys: [] },
  )
  .filter((f) => f.minPrice === undefined || f.maxPrice === undefined || f.minPrice <= f.maxPrice);

describe('seat filters', () => {
  it('refuses price bounds out of range or crossed, and nothing else', () => {
    fc.assert(
      fc.property(
        fc.option(fc.oneof(fc.integer({ min: -5, max: MAX_PRICE + 5 }), fc.double()), { nil: undefined }),
        fc.option(fc.oneof(fc.integer({ min: -5, max: MAX_PRICE + 5 }), fc.double()), { nil: undefined }),
        (minPrice, maxPrice) => {
          const inRange = (v: number | undefined) =>
            v === undefined || (Number.isInteger(v) && v >= 0 && v <= MAX_PRICE);
          const ok =
            inRange(minPrice) &&
            inRange(maxPrice) &&
            (minPrice === undefined || maxPrice === undefined || minPrice <= maxPrice);
          let refused = false;
          try {
            assertSeatFilter({ minPrice, maxPrice });
          } catch (error) {
            expect(error).toBeInstanceOf(DomainError);
            expect((error as DomainError).kind).toBe('invalid');
            refused = true;
          }
          expect(refused).toBe(!ok);
        },
      ),
    );
  });

  it('digests equal filters alike and different ones apart', () => {
    expect(filterDigest({ section: 'A', minPrice: 1 }, undefined)).toBe(
      filterDigest({ minPrice: 1, section: 'A' }, undefined),
    );
    expect(filterDigest({ section: 'A' }, undefined)).not.toBe(filterDigest({ grade: 'A' }, undefined));
    expect(filterDigest({ section: 'A' }, undefined)).not.toBe(filterDigest({ section: 'A' }, 'SOLD'));
  });

  it('finds a grade in any casing, as a section name (VIP, vip and ＶＩＰ are one grade)', () => {
    const seat: SeatListing = {
      id: 1,
      position: 1,
      section: 'Floor',
      row: 1,
      rowLabel: 'A',
      number: 1,
      grade: 'VIP',
      price: 100,
      currency: 'EUR',
    };
    for (const grade of ['VIP', 'vip', ' Vip ', 'ＶＩＰ']) {
      expect(matchesSeatFilter(seat, { grade })).toBe(true);
      expect(filterDigest({ grade }, undefined)).toBe(filterDigest({ grade: 'VIP' }, undefined));
    }
    expect(matchesSeatFilter(seat, { grade: 'VIP1' })).toBe(false);
  });

  it('pages through exactly the seats a plain filter over the layout gives, in order, whatever the page size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...STATUSES), { minLength: 1, maxLength: 250 }),
        filters,
        fc.option(fc.constantFrom(...STATUSES), { nil: undefined }),
        fc.integer({ min: 1, max: 100 }),
        fc.boolean(),
        async (statuses, filter, status, limit, index) => {
          const { seats, service } = layout(statuses, index);
          const unknown =
            (filter.section !== undefined &&
              !seats.some((seat) => sectionNameKey(seat.section) === sectionNameKey(filter.section!))) ||
            (filter.grade !== undefined && !seats.some((seat) => gradeKey(seat.grade) === gradeKey(filter.grade!)));
          if (unknown) {
            // A section or grade the performance lacks is a 404, as for a hold, not an empty list.
            await expect(service.listSeats(7, { limit, status, filter })).rejects.toMatchObject({ kind: 'not_found' });
            return;
          }
          const expected = seats
            .filter((seat, i) => matchesSeatFilter(seat, filter) && (!status || statuses[i] === status))
            .map((seat) => seat.id);
          const got: number[] = [];
          let cursor: string | undefined;
          for (let pages = 0; pages < 1000; pages += 1) {
            const page = await service.listSeats(7, { limit, cursor, status, filter });
            expect(page.items.length).toBeLessThanOrEqual(limit);
            got.push(...page.items.map((seat) => seat.id));
            page.items.forEach((seat, i) => expect(page.statuses[i]).toBe(statuses[seat.id - 1000]));
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('answers a section or grade the performance does not have as not found (as a hold does), asking Redis nothing', async () => {
    const { service, seatState } = layout(['AVAILABLE', 'SOLD', 'AVAILABLE', 'HELD', 'AVAILABLE', 'SOLD']);
    await expect(service.listSeats(7, { limit: 10, filter: { section: 'nope' } })).rejects.toMatchObject({
      kind: 'not_found',
      message: 'section not found',
      details: { performanceId: 7, section: 'nope' },
    });
    await expect(service.listSeats(7, { limit: 10, filter: { grade: 'X' } })).rejects.toMatchObject({
      message: 'grade not found',
      details: { performanceId: 7, grade: 'X' },
    });
    expect(seatState.registeredStatuses).not.toHaveBeenCalled();
    // Known in another casing: a page.
    expect((await service.listSeats(7, { limit: 10, filter: { section: 'c', grade: 'r' } })).items).not.toEqual([]);
  });

  it('asks Redis only for the status of seats that pass the static filter', async () => {
    const { service, seatState } = layout(['AVAILABLE', 'SOLD', 'AVAILABLE', 'HELD', 'AVAILABLE', 'SOLD']);
    await service.listSeats(7, { limit: 10, filter: { section: 'C' } });
    const asked = seatState.registeredStatuses.mock.calls.flatMap(([, ids]) => ids);
    expect(asked).toEqual([1004, 1005]);
  });

  it('serves a ?status=AVAILABLE page late in a sale from the free index: no status read, only the seats shown', async () => {
    const statuses: SeatStatus[] = Array.from({ length: 5000 }, (_, i) => (i % 1000 === 999 ? 'AVAILABLE' : 'SOLD'));
    const { service, seatState, copies } = layout(statuses);
    const page = await service.listSeats(7, { limit: 3, status: 'AVAILABLE' });
    expect(page.items.map((seat) => seat.position)).toEqual([1000, 2000, 3000]);
    expect(page.statuses).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE']);
    expect(seatState.freeSeatsAfter).toHaveBeenCalledTimes(1);
    expect(seatState.registeredStatuses).not.toHaveBeenCalled();
    expect(copies.seatsAt.mock.calls.flatMap(([, , positions]) => positions)).toEqual([1000, 2000, 3000]);
    const next = await service.listSeats(7, { limit: 3, status: 'AVAILABLE', cursor: page.nextCursor! });
    expect(next.items.map((seat) => seat.position)).toEqual([4000, 5000]);
    expect(next.nextCursor).toBeNull();
  });

  it('ends a ?status=AVAILABLE page after 65,536 positions of the index, and the next goes on from there', async () => {
    const statuses: SeatStatus[] = Array.from({ length: 70_000 }, (_, i) => (i === 69_999 ? 'AVAILABLE' : 'SOLD'));
    const { service, seatState } = layout(statuses);
    const first = await service.listSeats(7, { limit: 10, status: 'AVAILABLE' });
    expect(first.items).toEqual([]);
    expect(seatState.freeSeatsAfter).toHaveBeenLastCalledWith(7, 0, 10, 65_536);
    const second = await service.listSeats(7, { limit: 10, status: 'AVAILABLE', cursor: first.nextCursor! });
    expect(second.items.map((seat) => seat.position)).toEqual([70_000]);
    expect(second.nextCursor).toBeNull();
  });

  it("refuses a filtered page's cursor with other filters, or with none, and an unfiltered cursor with filters", async () => {
    const { service } = layout(Array.from({ length: 30 }, () => 'AVAILABLE' as SeatStatus));
    const first = await service.listSeats(7, { limit: 2, filter: { grade: 'R' } });
    expect(first.nextCursor).not.toBeNull();
    const cursor = first.nextCursor!;
    const code = async (options: Parameters<SeatPageService['listSeats']>[1]) =>
      service.listSeats(7, options).then(
        () => 'ok',
        (error: DomainError) => `${error.kind}:${error.code}`,
      );
    expect(await code({ limit: 2, cursor, filter: { grade: 'R' } })).toBe('ok');
    expect(await code({ limit: 2, cursor, filter: { grade: 'S' } })).toBe('invalid:InvalidCursor');
    expect(await code({ limit: 2, cursor, filter: { grade: 'R' }, status: 'SOLD' })).toBe('invalid:InvalidCursor');
    expect(await code({ limit: 2, cursor })).toBe('invalid:InvalidCursor');
    const plain = (await service.listSeats(7, { limit: 2 })).nextCursor!;
    expect(await code({ limit: 2, cursor: plain, filter: { grade: 'R' } })).toBe('invalid:InvalidCursor');
    expect(await code({ limit: 2, filter: { minPrice: 5, maxPrice: 4 } })).toBe('invalid:InvalidInput');
  });
});
