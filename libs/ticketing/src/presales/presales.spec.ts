import { describe, expect, it, vi } from 'vitest';
import type { Clock } from '@app/core';
import type { PresalesRepository } from '@app/database';
import type { CatalogCache } from '../catalog/catalog-cache';
import type { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { PresaleService } from './presales';
import type { PresaleStore } from './presale.store';

const operator = { id: '00000000-0000-4000-8000-000000000001', email: 'ops@example.test' };
const now = Date.parse('2030-01-01T00:00:00Z');

/** The service over fakes of its ports; the repository's transaction fails at its commit when `commitFails`. */
function service(commitFails: boolean) {
  const stored = {
    id: '7',
    performanceId: 3,
    name: 'Fans',
    opensAt: new Date(now),
    closesAt: new Date(now + 3_600_000),
    maxSeats: null,
  };
  const writes = { list: vi.fn(async () => []), insert: vi.fn(async () => stored), record: vi.fn(async () => {}) };
  const presales = {
    whileLocked: vi.fn(async (_id: number, change: (performance: unknown, w: unknown) => Promise<unknown>) => {
      const result = await change({ status: 'ON_SALE', salesOpenAt: new Date(now + 7_200_000) }, writes);
      if (commitFails) throw new Error('commit failed');
      return result;
    }),
  };
  const store = { put: vi.fn(async () => true), remove: vi.fn(async () => {}) };
  const cache = { invalidateAfterCommit: vi.fn(async () => {}) };
  const clock = { nowMs: () => now };
  return {
    store,
    service: new PresaleService(
      presales as unknown as PresalesRepository,
      store as unknown as PresaleStore,
      cache as unknown as CatalogCache,
      clock as unknown as Clock,
      { ensure: vi.fn(async () => {}) } as unknown as SeatStateRebuilder,
    ),
  };
}

const input = { name: 'Fans', opensAt: new Date(now), closesAt: new Date(now + 3_600_000), code: 'FANS-CODE-1' };

describe('PresaleService.create', () => {
  it('takes the presale out of Redis again when its transaction fails after writing it (no working code no one can list)', async () => {
    const s = service(true);
    await expect(s.service.create(3, input, operator)).rejects.toThrow('commit failed');
    expect(s.store.put).toHaveBeenCalledTimes(1);
    expect(s.store.remove).toHaveBeenCalledWith(3, '7');
  });

  it('keeps the presale in Redis once its transaction committed', async () => {
    const s = service(false);
    await expect(s.service.create(3, input, operator)).resolves.toMatchObject({ id: '7', name: 'Fans' });
    expect(s.store.remove).not.toHaveBeenCalled();
  });
});

describe('PresaleService maxSeats', () => {
  it.each([0, -1, 1.5, 1_000_001, Number.NaN, '5'])(
    'refuses %s as an allocation (400) before anything is written',
    async (maxSeats) => {
      const s = service(false);
      await expect(
        s.service.create(3, { ...input, maxSeats: maxSeats as unknown as number }, operator),
      ).rejects.toMatchObject({ code: 'InvalidInput' });
      await expect(s.service.update(3, '7', maxSeats as unknown as number, operator)).rejects.toMatchObject({
        code: 'InvalidInput',
      });
      expect(s.store.put).not.toHaveBeenCalled();
    },
  );
});
