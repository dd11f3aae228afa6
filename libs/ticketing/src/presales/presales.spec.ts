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
  const kept = { ...stored, codeDigest: 'a'.repeat(64), maxSeats: 5 };
  // What PostgreSQL lists: the presale as it was before any failed change (none committed).
  const writes = {
    list: vi.fn(async () => (commitFails ? [kept] : [])),
    insert: vi.fn(async () => stored),
    record: vi.fn(async () => {}),
    setMaxSeats: vi.fn(async () => ({ before: kept, after: { ...kept, maxSeats: 1 } })),
    delete: vi.fn(async () => kept),
  };
  let transactions = 0;
  const presales = {
    whileLocked: vi.fn(async (_id: number, change: (performance: unknown, w: unknown) => Promise<unknown>) => {
      const result = await change({ status: 'ON_SALE', salesOpenAt: new Date(now + 7_200_000) }, writes);
      // Only the change's own transaction fails; the write-back after it reads and commits.
      if (commitFails && transactions++ === 0) throw new Error('commit failed');
      return result;
    }),
  };
  const store = {
    put: vi.fn(async () => true),
    remove: vi.fn(async () => {}),
    seatsTaken: vi.fn(async () => [2]),
  };
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

describe('PresaleService: a change whose commit failed is written back from PostgreSQL', () => {
  it('an allocation change: the presale put back with the maxSeats PostgreSQL kept', async () => {
    const s = service(true);
    await expect(s.service.update(3, '7', 1, operator)).rejects.toThrow('commit failed');
    expect(s.store.put).toHaveBeenCalledTimes(2);
    expect(s.store.put).toHaveBeenLastCalledWith(3, expect.objectContaining({ id: '7', maxSeats: 5 }), undefined);
  });

  it('a delete: the presale put back with the seats it had taken', async () => {
    const s = service(true);
    await expect(s.service.remove(3, '7', operator)).rejects.toThrow('commit failed');
    expect(s.store.remove).toHaveBeenCalledTimes(1);
    expect(s.store.put).toHaveBeenCalledWith(3, expect.objectContaining({ id: '7', maxSeats: 5 }), 2);
  });
});
