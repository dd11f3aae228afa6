import { describe, expect, it, vi } from 'vitest';
import { PurchaseRecord, PurchaseRepository, PurchaseStatus } from '@app/database';
import { encodeCursor } from '../catalog/cursor';
import { NotFoundError } from '../errors';
import { newIdOf } from '../ids';
import type { Purchase } from './purchase';
import { PurchaseReader } from './purchase-reader';
import { PurchaseStore } from './purchase.store';

const purchase = (createdAt: number, status: Purchase['status'] = 'PAID'): Purchase => ({
  id: newIdOf(7),
  reservationId: newIdOf(7),
  userId: 'buyer',
  performanceId: 7,
  seatIds: [1],
  amount: 10,
  currency: 'KRW',
  status,
  createdAt: new Date(createdAt),
  canceledAt: status === 'CANCELED' ? new Date(createdAt + 1) : null,
  chargeId: 'ch',
  refundedSeatIds: [],
  refundedAmount: 0,
});
const persisted = (p: Purchase): PurchaseRecord => ({
  ...p,
  status: p.status === 'CANCELED' ? PurchaseStatus.Canceled : PurchaseStatus.Paid,
});

function reader(rows: PurchaseRecord[], inRedis: Purchase[]) {
  const store = {
    indexedOf: vi.fn(async () => inRedis),
    performanceOfPurchase: vi.fn(async () => 7),
    read: vi.fn(async (_p: number, id: string) => inRedis.find((p) => p.id === id) ?? null),
  };
  const purchases = {
    pageOfUser: vi.fn(async () => rows),
    findById: vi.fn(async (id: string) => rows.find((r) => r.id === id) ?? null),
  };
  return {
    service: new PurchaseReader(store as unknown as PurchaseStore, purchases as unknown as PurchaseRepository),
    store,
    purchases,
  };
}

describe('PurchaseReader', () => {
  it('lists newest first, each purchase once, its Redis state winning over PostgreSQL’s', async () => {
    const old = purchase(1000);
    const flushedThenCanceled = purchase(2000);
    const unflushed = purchase(3000);
    const canceledInRedis = { ...flushedThenCanceled, status: 'CANCELED' as const, canceledAt: new Date(2500) };
    const { service } = reader([persisted(flushedThenCanceled), persisted(old)], [unflushed, canceledInRedis]);
    const page = await service.list('buyer', undefined, 2);
    expect(page.items).toEqual([unflushed, canceledInRedis]);
    expect(page.nextCursor).toBe(encodeCursor({ t: 2000, i: flushedThenCanceled.id }));
  });

  it('never leaves out a purchase the flusher writes meanwhile: Redis is read before PostgreSQL', async () => {
    const paid = purchase(1000);
    // The flush commits right after PostgreSQL's snapshot is taken, then leaves the buyer's Redis index.
    let flushed = false;
    const store = { indexedOf: vi.fn(async () => (flushed ? [] : [paid])) };
    const purchases = {
      pageOfUser: vi.fn(() => {
        const snapshot = flushed ? [persisted(paid)] : [];
        flushed = true;
        return Promise.resolve(snapshot);
      }),
    };
    const service = new PurchaseReader(store as unknown as PurchaseStore, purchases as unknown as PurchaseRepository);
    expect((await service.list('buyer', undefined, 10)).items).toEqual([paid]);
  });

  it('reads Redis only up to the cursor’s time, and keeps nothing at or before the cursor', async () => {
    const before = purchase(2000);
    const older = purchase(1000);
    const { service, store } = reader([], [before, older]);
    const page = await service.list('buyer', encodeCursor({ t: 2000, i: before.id }), 10);
    expect(store.indexedOf).toHaveBeenCalledWith('buyer', 2000);
    expect(page.items).toEqual([older]);
    expect(page.nextCursor).toBeNull();
  });

  it('finds the caller’s purchase in Redis, then PostgreSQL; anyone else’s is not found', async () => {
    const inRedis = purchase(1000);
    const flushed = purchase(2000);
    const { service } = reader([persisted(flushed)], [inRedis]);
    expect(await service.get('buyer', inRedis.id)).toEqual(inRedis);
    expect(await service.get('buyer', flushed.id)).toEqual(flushed);
    await expect(service.get('thief', inRedis.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.get('buyer', 'p-1')).rejects.toBeInstanceOf(NotFoundError);
  });
});
