import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { EventDeletion, EventRepository, PerformanceRepository, PresalesRepository } from '@app/database';
import { StoreUnavailableError } from '@app/core';
import { FakeClock } from '@app/testing';
import { DomainError, NotFoundError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import type { CheckInClearing } from '../tickets/check-in-clearing';
import type { SeatStatus } from '../seats/seat-status';
import { CatalogCache } from './catalog-cache';
import { CatalogCopies } from './catalog-copies';
import type { Performance, SeatListing } from './catalog.types';
import { decodeCursor } from './cursor';
import { EventService } from './event.service';
import { MAX_SEATS_PER_PERFORMANCE, PerformanceService } from './performance.service';
import { SeatPageService } from './seat-page.service';
import { SectionService } from './section.service';

const performance: Performance = {
  id: 7,
  eventId: 1,
  startsAt: new Date('2030-01-01T20:00:00Z'),
  salesOpenAt: new Date('2029-12-01T10:00:00Z'),
  salesCloseAt: null,
  cancelUntil: new Date('2029-12-31T20:00:00Z'),
  status: 'ON_SALE',
  totalSeats: 6,
  currency: 'KRW',
  eventTitle: 'Concert',
  venue: 'Hall',
  timeZone: 'UTC',
};
const seats: SeatListing[] = Array.from({ length: 6 }, (_, i) => ({
  id: 100 + i,
  position: i + 1,
  section: 'A',
  row: 1,
  rowLabel: 'A',
  number: i + 1,
  grade: 'R',
  price: 10,
  currency: 'KRW',
}));
const LETTERS: SeatStatus[] = ['AVAILABLE', 'HELD', 'SOLD', 'AVAILABLE', 'SOLD', 'AVAILABLE'];

/** Copies of the performance and its seats at catalog version `held`, while Redis is at `current`. */
function copies(held = '1', current = held) {
  let local = held;
  return {
    version: vi.fn(async () => local),
    currentVersion: vi.fn(async () => current),
    observe: vi.fn((version: string) => (local = version)),
    performance: vi.fn(async () => performance),
    seatsAfter: vi.fn(async (_v: string, _p: Performance, position: number, count: number) =>
      seats.filter((seat) => seat.position > position).slice(0, count),
    ),
  };
}

function seatState(registered = true) {
  return {
    registeredStatuses: vi.fn(async (_id: number, ids: number[]) =>
      registered ? ids.map((id) => LETTERS[id - 100]) : null,
    ),
    registeredCounts: vi.fn(async () => (registered ? { total: 6, available: 3, held: 1, sold: 2 } : null)),
    closeSales: vi.fn(async (_id: number, _token: string, _leaseMs: number, _unheld?: boolean) => ({
      closed: true,
      held: 0,
      sold: 0,
      unwritten: 0,
      parked: 0,
    })),
    renewSalesClosure: vi.fn(async () => true),
    reopenSales: vi.fn(async (_id: number, _token: string) => {}),
    removePerformance: vi.fn(async () => {}),
  };
}

/** Who the services' audit rows name (the repositories here are stand-ins: nothing is recorded). */
const operator = { id: '5b0c3b8e-8f7e-4c0e-9f0e-2d3c4b5a6978', email: 'ops@example.com' };

const rebuilder = () => ({ ensure: vi.fn(async () => {}), register: vi.fn(async () => {}) });

describe('SeatPageService', () => {
  const pages = (c = copies(), s = seatState(), r = rebuilder()) => ({
    service: new SeatPageService(
      c as unknown as CatalogCopies,
      s as unknown as SeatStateStore,
      r as unknown as SeatStateRebuilder,
      // No page here filters by section or grade: the sections are never asked for.
      {} as SectionService,
    ),
    copies: c,
    seatState: s,
    rebuilder: r,
  });

  it('lays the live status over the seats, with a cursor after the last one', async () => {
    const page = await pages().service.listSeats(7, { limit: 2 });
    expect(page.items.map((seat) => seat.id)).toEqual([100, 101]);
    expect(page.statuses).toEqual(['AVAILABLE', 'HELD']);
    expect(decodeCursor(page.nextCursor!, { p: 'int4', f: 'digest', o: 'int4' })).toMatchObject({ p: 2 });
  });

  it('keeps only seats of the asked status, and ends without a cursor past the last seat', async () => {
    const page = await pages().service.listSeats(7, { status: 'SOLD', limit: 10 });
    expect(page.items.map((seat) => seat.id)).toEqual([102, 104]);
    expect(page.nextCursor).toBeNull();
  });

  it('drops its copies and reads again when an admin write moved the catalog version', async () => {
    const { service, copies: c } = pages(copies('1', '2'));
    const page = await service.listSeats(7, { limit: 1 });
    expect(c.observe).toHaveBeenCalledWith('2');
    expect(c.version).toHaveBeenCalledTimes(2);
    expect(page.items).toHaveLength(1);
  });

  it('rebuilds lost seat state, and gives up as not found when it stays missing', async () => {
    const { service, rebuilder: r } = pages(copies(), seatState(false));
    await expect(service.listSeats(7, { limit: 1 })).rejects.toBeInstanceOf(NotFoundError);
    expect(r.ensure).toHaveBeenCalledTimes(2);
  });
});

describe('PerformanceService', () => {
  const sections = [{ name: 'A', grade: 'R', price: 10, rows: 2, seatsPerRow: 3 }];
  function service(eventExists = true, stillThere = true) {
    const events = {
      findById: vi.fn(async () =>
        eventExists ? { id: 1, currency: 'KRW', title: 'Concert', venue: 'Hall', timeZone: 'UTC' } : null,
      ),
    };
    const row = { ...performance, totalSeats: 6 };
    const performances = {
      createWithSeats: vi.fn(async () => ({ ...row, currency: undefined })),
      findById: vi.fn(async () => (stillThere ? row : null)),
    };
    const state = seatState();
    const r = rebuilder();
    const cache = { invalidate: vi.fn(async () => {}), invalidateAfterCommit: vi.fn(async () => {}) };
    const clock = new FakeClock(Date.parse('2029-12-15T12:00:00Z'));
    return {
      performances: new PerformanceService(
        events as unknown as EventRepository,
        performances as unknown as PerformanceRepository,
        state as unknown as SeatStateStore,
        r as unknown as SeatStateRebuilder,
        cache as unknown as CatalogCache,
        copies() as unknown as CatalogCopies,
        clock,
        {} as CheckInClearing,
        {
          CHECK_IN_OPENS_BEFORE_MINUTES: 180,
          CHECK_IN_CLOSES_AFTER_MINUTES: 240,
          SALES_CLOSURE_LEASE_MS: 30_000,
        } as Env,
        { listOf: vi.fn(async () => new Map()) } as unknown as PresalesRepository,
      ),
      repository: performances,
      seatState: state,
      rebuilder: r,
      cache,
      clock,
    };
  }
  const input = { startsAt: performance.startsAt, salesOpenAt: performance.salesOpenAt, sections };

  it('answers the check-in window a performance has: its own settings where set, the global ones otherwise', () => {
    const { performances } = service();
    expect(performances.checkInWindow(performance)).toEqual({
      opensAt: new Date('2030-01-01T17:00:00Z'),
      closesAt: new Date('2030-01-02T00:00:00Z'),
    });
    expect(
      performances.checkInWindow({ ...performance, checkInOpensBeforeMinutes: 0, checkInClosesAfterMinutes: null }),
    ).toEqual({ opensAt: performance.startsAt, closesAt: new Date('2030-01-02T00:00:00Z') });
  });

  it('refuses an empty check-in window on create, the global setting counting for null', async () => {
    const { performances, repository } = service();
    await expect(
      performances.createPerformance(
        1,
        { ...input, checkInOpensBeforeMinutes: 0, checkInClosesAfterMinutes: 0 },
        operator,
      ),
    ).rejects.toThrow(/^empty check-in window/);
    await expect(
      performances.createPerformance(1, { ...input, checkInOpensBeforeMinutes: 0 }, operator),
    ).resolves.toBeDefined();
    expect(repository.createWithSeats).toHaveBeenCalledTimes(1);
  });

  it('creates the performance in the event’s currency, registers its seats, and invalidates the cache', async () => {
    const { performances, rebuilder: r, cache } = service();
    expect(await performances.createPerformance(1, input, operator)).toEqual(performance);
    expect(r.register).toHaveBeenCalledWith(expect.objectContaining({ id: 7, currency: 'KRW' }));
    expect(cache.invalidateAfterCommit).toHaveBeenCalled();
  });

  it('opens sales at the clock now when salesOpenAt is not given, and then refuses a start already past', async () => {
    const { performances, repository, clock } = service();
    await performances.createPerformance(1, { startsAt: performance.startsAt, sections }, operator);
    expect(repository.createWithSeats).toHaveBeenLastCalledWith(
      expect.objectContaining({ salesOpenAt: new Date('2029-12-15T12:00:00Z') }),
      expect.any(Function),
    );
    clock.advance(performance.startsAt.getTime() - clock.nowMs() + 1);
    await expect(
      performances.createPerformance(1, { startsAt: performance.startsAt, sections }, operator),
    ).rejects.toMatchObject({
      code: 'InvalidSalesWindow',
      message: 'startsAt must be in the future (sales open now when salesOpenAt is not given)',
    });
    expect(repository.createWithSeats).toHaveBeenCalledTimes(1);
  });

  it.each<[string, Partial<typeof input>, string]>([
    ['sales opening after the start', { salesOpenAt: new Date('2030-02-01T00:00:00Z') }, 'InvalidSalesWindow'],
    ['two sections of one name', { sections: [...sections, ...sections] }, 'DuplicateSection'],
    ...['A ', 'a', '\uff21', ' A'].map((twin): [string, Partial<typeof input>, string] => [
      `sections named "A" and ${JSON.stringify(twin)}`,
      {
        sections: [
          { ...sections[0], name: 'A' },
          { ...sections[0], name: twin },
        ],
      },
      'DuplicateSection',
    ]),
    [
      'sections named "A B" and "A  B"',
      {
        sections: [
          { ...sections[0], name: 'A B' },
          { ...sections[0], name: 'A  B' },
        ],
      },
      'DuplicateSection',
    ],
    [
      'more seats than a performance may have',
      { sections: [{ ...sections[0], rows: 1000, seatsPerRow: MAX_SEATS_PER_PERFORMANCE / 1000 + 1 }] },
      'TooManySeats',
    ],
  ])('refuses %s, writing nothing', async (_name, change, code) => {
    const { performances, repository } = service();
    const refused = performances.createPerformance(1, { ...input, ...change }, operator);
    await expect(refused).rejects.toBeInstanceOf(DomainError);
    await expect(refused).rejects.toMatchObject({ kind: 'invalid', code });
    expect(repository.createWithSeats).not.toHaveBeenCalled();
  });

  it('answers not found, leaving no live state, when the registration failed because the event went meanwhile', async () => {
    const { performances, seatState: state, rebuilder: r } = service(true, false);
    r.register.mockRejectedValueOnce(new Error('seats gone under the registration'));
    await expect(performances.createPerformance(1, input, operator)).rejects.toBeInstanceOf(NotFoundError);
    expect(state.removePerformance).toHaveBeenCalledWith(7);
  });

  it('passes on a failed registration of a performance that still exists', async () => {
    const { performances, seatState: state, rebuilder: r, cache } = service();
    r.register.mockRejectedValueOnce(new Error('redis down'));
    await expect(performances.createPerformance(1, input, operator)).rejects.toThrow('redis down');
    expect(state.removePerformance).not.toHaveBeenCalled();
    expect(cache.invalidateAfterCommit).not.toHaveBeenCalled();
  });

  it('answers the created performance when Redis could not take its live state (rebuilt at first use, no 503 to retry into a second one)', async () => {
    const { performances, seatState: state, rebuilder: r, cache } = service();
    r.register.mockRejectedValueOnce(new StoreUnavailableError('redis', new Error('Command timed out')));
    expect(await performances.createPerformance(1, input, operator)).toMatchObject({ id: 7 });
    expect(state.removePerformance).not.toHaveBeenCalled();
    expect(cache.invalidateAfterCommit).toHaveBeenCalledOnce();
  });

  it('leaves no live state when the event was deleted while the performance was being created', async () => {
    const { performances, seatState: state } = service(true, false);
    await expect(performances.createPerformance(1, input, operator)).rejects.toBeInstanceOf(NotFoundError);
    expect(state.removePerformance).toHaveBeenCalledWith(7);
    await expect(service(false).performances.createPerformance(1, input, operator)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('answers the performance with its live counts', async () => {
    expect(await service().performances.getPerformance(7)).toEqual({
      performance,
      counts: { total: 6, available: 3, held: 1, sold: 2 },
    });
  });
});

describe('EventService', () => {
  /** An EventService over performances 7 and 8, whose repository answers `outcome` after beforeDelete. */
  function eventService(state: ReturnType<typeof seatState>, outcome: EventDeletion = { outcome: 'DELETED' }) {
    const events = {
      deleteWithPerformances: vi.fn(async (_id: number, beforeDelete: (ids: number[]) => Promise<void>) => {
        await beforeDelete([7, 8]);
        return outcome;
      }),
    };
    const cache = { invalidate: vi.fn(async () => {}), invalidateAfterCommit: vi.fn(async () => {}) };
    const service = new EventService(
      events as unknown as EventRepository,
      state as unknown as SeatStateStore,
      rebuilder() as unknown as SeatStateRebuilder,
      cache as unknown as CatalogCache,
      { DEFAULT_CURRENCY: 'KRW', SALES_CLOSURE_LEASE_MS: 30_000 } as Env,
      new FakeClock(0),
      {} as PerformanceRepository,
    );
    return { service, cache };
  }

  it('refuses to delete an event with sold seats and opens the sales it closed again', async () => {
    const state = seatState();
    state.closeSales.mockResolvedValueOnce({ closed: true, held: 0, sold: 0, unwritten: 0, parked: 0 });
    state.closeSales.mockResolvedValueOnce({ closed: false, held: 0, sold: 1, unwritten: 0, parked: 0 });
    const { service, cache } = eventService(state);
    await expect(service.deleteEvent(1, operator)).rejects.toMatchObject({
      code: 'EventHasSales',
      details: { performanceId: 8 },
    });
    // Reopened with the token it closed with (its own closure, for a lease), the first performance only.
    expect(state.reopenSales.mock.calls).toEqual([[7, expect.any(String)]]);
    expect(state.closeSales.mock.calls[0]).toEqual([7, state.reopenSales.mock.calls[0][1], 30_000, false]);
    expect(state.removePerformance).not.toHaveBeenCalled();
    expect(cache.invalidate).not.toHaveBeenCalled();
  });

  it('refuses to delete an event with a purchase not yet written (its stream) or written (PostgreSQL)', async () => {
    const unwritten = seatState();
    unwritten.closeSales.mockResolvedValueOnce({ closed: false, held: 0, sold: 0, unwritten: 2, parked: 0 });
    await expect(eventService(unwritten).service.deleteEvent(1, operator), 'unwritten').rejects.toMatchObject({
      code: 'EventHasSales',
      message: 'event has purchases and cannot be deleted',
      details: { performanceId: 7 },
    });
    expect(unwritten.reopenSales.mock.calls, 'unwritten').toEqual([]);

    const written = seatState();
    const { service } = eventService(written, { outcome: 'HAS_PURCHASES', performanceId: 8 });
    await expect(service.deleteEvent(1, operator), 'written').rejects.toMatchObject({
      code: 'EventHasSales',
      message: 'event has purchases and cannot be deleted',
      details: { performanceId: 8 },
    });
    expect(written.reopenSales.mock.calls, 'written').toEqual(
      written.closeSales.mock.calls.map(([performanceId, token]) => [performanceId, token]),
    );
    expect(written.reopenSales.mock.calls, 'written').toEqual([
      [7, expect.any(String)],
      [8, expect.any(String)],
    ]);
    expect(written.removePerformance, 'written').not.toHaveBeenCalled();
  });
});
