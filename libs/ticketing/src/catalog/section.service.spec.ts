import { describe, expect, it, vi } from 'vitest';
import type { PerformanceRepository, PriceChangeSubject, SectionRepository } from '@app/database';
import { DomainError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { CatalogCache } from './catalog-cache';
import { CatalogCopies } from './catalog-copies';
import { KEPT_PERFORMANCES, SectionService } from './section.service';
import { SectionStore } from './section.store';

const operator = { id: '00000000-0000-4000-8000-000000000001', email: 'ops@example.test' };
const subject: PriceChangeSubject = {
  status: 'ON_SALE',
  startsAt: new Date('2030-03-01T19:00:00Z'),
  now: new Date('2030-01-01T00:00:00Z'),
};
const floor = { name: 'Floor', grade: 'VIP', price: 1000, seatsTotal: 2, firstSeatId: 10, lastSeatId: 11 };

/** The service over fakes of its stores; `changePrice` plays the repository's transaction. */
function service(
  options: {
    subject?: PriceChangeSubject;
    commitFails?: boolean;
    versions?: string[];
    /** The section's price PostgreSQL has after the failed commit (another change may have committed since). */
    priceInPostgres?: number;
    /** PostgreSQL cannot be read after the failed commit either. */
    postgresDown?: boolean;
  } = {},
) {
  const sections = {
    changePrice: vi.fn(
      async (
        _id: number,
        _name: string,
        price: number,
        decide: (s: PriceChangeSubject) => void,
        apply: (seatIds: number[]) => Promise<void>,
        audit: (change: unknown) => unknown,
      ) => {
        decide(options.subject ?? subject);
        const change = { section: { ...floor, price }, previousPrice: 1000, currency: 'KRW', changed: price !== 1000 };
        if (change.changed) audit(change);
        await apply([10, 11]);
        if (options.commitFails) throw new Error('commit failed');
        return change;
      },
    ),
    sectionsOf: vi.fn(async () => ({ currency: 'KRW', sections: [floor] })),
    priceOf: vi.fn(async (_id: number, _name: string, manager: unknown) => {
      expect(manager).toBe(shareLocked);
      return options.priceInPostgres ?? 1000;
    }),
  };
  const shareLocked = { transaction: 'row FOR SHARE' };
  const performances = {
    whileRowShared: vi.fn(async (_id: number, work: (manager: unknown) => Promise<unknown>) => {
      if (options.postgresDown) throw new Error('database unavailable');
      return work(shareLocked);
    }),
  };
  const store = { setPrices: vi.fn(async () => {}), available: vi.fn(async () => [2]) };
  const versions = [...(options.versions ?? [])];
  let local = '1';
  const copies = {
    version: vi.fn(async () => local),
    currentVersion: vi.fn(async () => versions.shift() ?? local),
    observe: vi.fn((version: string) => (local = version)),
  };
  const cache = {
    invalidate: vi.fn(async () => {}),
    getOrLoadAt: vi.fn(async (_v: string, _n: string, load: () => Promise<unknown>) => load()),
  };
  const rebuilder = { ensure: vi.fn(async () => {}) };
  return {
    sections,
    performances,
    store,
    copies,
    cache,
    service: new SectionService(
      sections as unknown as SectionRepository,
      store as unknown as SectionStore,
      copies as unknown as CatalogCopies,
      cache as unknown as CatalogCache,
      rebuilder as unknown as SeatStateRebuilder,
      performances as unknown as PerformanceRepository,
    ),
  };
}

describe('SectionService', () => {
  it('writes the new price to the live state and bumps the catalog version', async () => {
    const s = service();
    expect(await s.service.changePrice(7, 'Floor', 1500, operator)).toEqual({
      name: 'Floor',
      grade: 'VIP',
      price: 1500,
      currency: 'KRW',
      seatsTotal: 2,
    });
    expect(s.store.setPrices).toHaveBeenCalledWith(7, [10, 11], 1500);
    expect(s.cache.invalidate).toHaveBeenCalledTimes(1);
  });

  it('writes the live prices again but keeps the catalog version when the section already has the price', async () => {
    const s = service();
    expect(await s.service.changePrice(7, 'Floor', 1000, operator)).toMatchObject({ name: 'Floor', price: 1000 });
    expect(s.store.setPrices).toHaveBeenCalledWith(7, [10, 11], 1000);
    expect(s.cache.invalidate).not.toHaveBeenCalled();
  });

  it('puts the old prices back when the commit fails after Redis took the new ones, and bumps nothing', async () => {
    const s = service({ commitFails: true });
    await expect(s.service.changePrice(7, 'Floor', 1500, operator)).rejects.toThrow('commit failed');
    expect(s.store.setPrices.mock.calls).toEqual([
      [7, [10, 11], 1500],
      [7, [10, 11], 1000],
    ]);
    expect(s.performances.whileRowShared).toHaveBeenCalledWith(7, expect.any(Function));
    expect(s.cache.invalidate).not.toHaveBeenCalled();
  });

  it("writes back PostgreSQL's price, not its own previous one: a change committed since is not overwritten", async () => {
    const s = service({ commitFails: true, priceInPostgres: 1700 });
    await expect(s.service.changePrice(7, 'Floor', 1500, operator)).rejects.toThrow('commit failed');
    expect(s.store.setPrices.mock.calls).toEqual([
      [7, [10, 11], 1500],
      [7, [10, 11], 1700],
    ]);
  });

  it("still answers the commit's error when PostgreSQL cannot be read for the write-back", async () => {
    const s = service({ commitFails: true, postgresDown: true });
    await expect(s.service.changePrice(7, 'Floor', 1500, operator)).rejects.toThrow('commit failed');
    expect(s.store.setPrices.mock.calls).toEqual([[7, [10, 11], 1500]]);
  });

  it('refuses a closed performance before touching Redis', async () => {
    const s = service({ subject: { ...subject, status: 'CLOSED' } });
    await expect(s.service.changePrice(7, 'Floor', 1500, operator)).rejects.toBeInstanceOf(DomainError);
    expect(s.store.setPrices).not.toHaveBeenCalled();
    expect(s.cache.invalidate).not.toHaveBeenCalled();
  });

  it('reads the sections again when the catalog version moved during the read', async () => {
    const s = service({ versions: ['2'] });
    const sections = await s.service.listSections(7);
    expect(sections).toEqual([
      { name: 'Floor', grade: 'VIP', price: 1000, currency: 'KRW', seatsTotal: 2, available: 2 },
    ]);
    expect(s.copies.observe).toHaveBeenCalledWith('2');
    expect(s.sections.sectionsOf).toHaveBeenCalledTimes(2);
  });

  it('keeps the sections of the most recently read performances past its bound, dropping the least recent one', async () => {
    const s = service();
    await s.service.layout('1', 0);
    for (let id = 1; id < KEPT_PERFORMANCES; id++) await s.service.layout('1', id);
    await s.service.layout('1', 0);
    await s.service.layout('1', KEPT_PERFORMANCES);
    expect(s.sections.sectionsOf).toHaveBeenCalledTimes(KEPT_PERFORMANCES + 1);

    await s.service.layout('1', 0);
    await s.service.layout('1', KEPT_PERFORMANCES);
    expect(s.sections.sectionsOf).toHaveBeenCalledTimes(KEPT_PERFORMANCES + 1);
    await s.service.layout('1', 1);
    expect(s.sections.sectionsOf).toHaveBeenCalledTimes(KEPT_PERFORMANCES + 2);
  });
});
