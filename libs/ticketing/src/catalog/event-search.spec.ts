import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { FakeClock } from '@app/testing';
import type { EventDates, EventEntity, EventRepository, EventSearch, PerformanceRepository } from '@app/database';
import { InvalidInputError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import { CatalogCache } from './catalog-cache';
import { decodeCursor } from './cursor';
import { EventService, MAX_EVENT_SEARCH_LENGTH } from './event.service';

const NOW = Date.parse('2027-03-01T10:00:30.500Z');
const MINUTE = Date.parse('2027-03-01T10:00:00.000Z');

function dated(id: number, first: number, last: number): EventEntity & EventDates {
  return {
    id,
    title: `Event ${id}`,
    description: null,
    venue: 'Hall',
    currency: 'KRW',
    timeZone: 'UTC',
    createdAt: new Date(0),
    updatedAt: new Date(0),
    firstStartsAt: new Date(first),
    lastStartsAt: new Date(last),
    performanceCount: 2,
  };
}

/** EventService over a repository that answers `rows`, a cache that stores nothing, and a FakeClock at NOW. */
function service(rows: (EventEntity & EventDates)[]) {
  const search = vi.fn(async (_query: EventSearch) => rows);
  const clock = new FakeClock(NOW);
  const cache = { getOrLoad: vi.fn(async (_name: string, load: () => Promise<unknown>) => load()) };
  const events = new EventService(
    { search } as unknown as EventRepository,
    {} as SeatStateStore,
    {} as SeatStateRebuilder,
    cache as unknown as CatalogCache,
    { DEFAULT_CURRENCY: 'KRW' } as Env,
    clock,
    {} as PerformanceRepository,
  );
  return { events, search, cache, clock };
}

describe('EventService.searchEvents', () => {
  it('refuses from after to, and a text over the limit in characters, before any query', async () => {
    const { events, search } = service([]);
    await expect(events.searchEvents({ from: new Date(NOW + 1), to: new Date(NOW), limit: 20 })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(events.searchEvents({ q: '가'.repeat(MAX_EVENT_SEARCH_LENGTH + 1), limit: 20 })).rejects.toMatchObject(
      { message: `q must be at most ${MAX_EVENT_SEARCH_LENGTH} characters` },
    );
    expect(search).not.toHaveBeenCalled();
    // An emoji is one character, though two UTF-16 units.
    await events.searchEvents({ q: '🎵'.repeat(MAX_EVENT_SEARCH_LENGTH), limit: 20 });
    expect(search).toHaveBeenCalledTimes(1);
  });

  it('loads upcoming pages from the start of the minute and leaves out what began since', async () => {
    const rows = [
      dated(1, MINUTE - 86_400_000, MINUTE + 10_000),
      dated(2, MINUTE + 5_000, NOW),
      dated(3, NOW, NOW + 1),
    ];
    const { events, search, cache } = service([...rows, dated(4, NOW + 2, NOW + 3)]);
    const page = await events.searchEvents({ q: '  Hall ', limit: 3 });
    expect(search).toHaveBeenCalledWith({ from: new Date(MINUTE), to: null, text: 'Hall', after: null, limit: 4 });
    expect(cache.getOrLoad).toHaveBeenCalledWith(`events:upcoming-${MINUTE}:::3:Hall`, expect.any(Function));
    // Event 1 played its last performance 10 s after the minute began, before now: not upcoming.
    expect(page.items.map((event) => event.id)).toEqual([2, 3]);
    // The cursor continues after the last row loaded, whether or not it was shown.
    expect(decodeCursor(page.nextCursor ?? undefined, { s: 'millis', i: 'int4', f: 'digest' })).toEqual({
      s: NOW,
      i: 3,
      f: expect.any(String),
    });
  });

  it('cuts upcoming events at the clock now, and loads a new page once its minute is over', async () => {
    const { events, search, cache, clock } = service([
      dated(1, MINUTE, NOW + 10_000),
      dated(2, MINUTE, MINUTE + 90_000),
    ]);
    expect((await events.searchEvents({ limit: 20 })).items.map((event) => event.id)).toEqual([1, 2]);
    clock.advance(10_001);
    expect((await events.searchEvents({ limit: 20 })).items.map((event) => event.id)).toEqual([2]);
    expect(cache.getOrLoad).toHaveBeenLastCalledWith(`events:upcoming-${MINUTE}:::20:`, expect.any(Function));
    clock.advance(60_000);
    await events.searchEvents({ limit: 20 });
    expect(search).toHaveBeenLastCalledWith(expect.objectContaining({ from: new Date(MINUTE + 60_000) }));
    expect(cache.getOrLoad).toHaveBeenLastCalledWith(`events:upcoming-${MINUTE + 60_000}:::20:`, expect.any(Function));
  });

  it('searches from exactly now, uncached, when only `to` is given; from `from` when given', async () => {
    const { events, search, cache } = service([dated(1, NOW, NOW)]);
    const to = new Date(NOW + 60_000);
    const page = await events.searchEvents({ to, limit: 20 });
    expect(search).toHaveBeenLastCalledWith(expect.objectContaining({ from: new Date(NOW), to }));
    expect(cache.getOrLoad).not.toHaveBeenCalled();
    expect(page).toMatchObject({ items: [{ id: 1, performanceCount: 2 }], nextCursor: null });

    const from = new Date(NOW - 86_400_000);
    await events.searchEvents({ from, limit: 20, cursor: page.nextCursor ?? undefined });
    expect(search).toHaveBeenLastCalledWith(expect.objectContaining({ from, to: null, text: null }));
  });
});
