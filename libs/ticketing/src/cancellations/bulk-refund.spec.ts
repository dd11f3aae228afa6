import { describe, expect, it, vi } from 'vitest';
import type {
  CancellationFigures,
  PaidPurchaseRef,
  PerformanceCancellationRecord,
  PerformanceCancellationsRepository,
} from '@app/database';
import { CancellationNotReplicatedError, NotFoundError, PurchaseCanceledError } from '../errors';
import type { PurchaseCancellation } from '../purchases/purchase-cancellation';
import { BULK_REFUND_CHUNK, BulkRefund } from './bulk-refund';
import type { PerformanceCancellationStore } from './performance-cancellation.store';

const open: PerformanceCancellationRecord = {
  performanceId: 7,
  reason: null,
  requestedBy: 'admin',
  requestedAt: new Date(0),
  completedAt: null,
};

function bulk(options: {
  cancellation?: PerformanceCancellationRecord | null;
  paid?: PaidPurchaseRef[];
  unwritten?: number;
  figures?: CancellationFigures;
  cancel?: (purchaseId: string) => Promise<void>;
}) {
  const marked: boolean[] = [];
  const repository = {
    workOnOpen: vi.fn(async (work: (c: PerformanceCancellationRecord) => Promise<boolean>) => {
      const cancellation = options.cancellation === undefined ? open : options.cancellation;
      if (!cancellation) return null;
      const completed = await work(cancellation);
      marked.push(completed);
      return { cancellation, completed };
    }),
    paidPurchases: vi.fn(async () => options.paid ?? []),
    figures: vi.fn(async () => options.figures ?? { paid: 0, refundOwed: 0, refunded: 0 }),
  };
  const store = { unwrittenEntries: vi.fn(async () => options.unwritten ?? 0) };
  const cancellation = {
    cancelAsOperator: vi.fn(async (_userId: string, purchaseId: string) => {
      await options.cancel?.(purchaseId);
      return {};
    }),
  };
  const service = new BulkRefund(
    repository as unknown as PerformanceCancellationsRepository,
    store as unknown as PerformanceCancellationStore,
    cancellation as unknown as PurchaseCancellation,
  );
  return { service, repository, store, cancellation, marked };
}

const purchases = (n: number): PaidPurchaseRef[] =>
  Array.from({ length: n }, (_, i) => ({ purchaseId: `p${i}`, userId: `u${i % 3}` }));

describe('BulkRefund.refundOnce', () => {
  it('answers null when no open cancellation is free', async () => {
    expect(await bulk({ cancellation: null }).service.refundOnce()).toBeNull();
  });

  it("cancels each paid purchase through the operator's cancel, checked-in seats refunded too, and is not done yet", async () => {
    const { service, repository, cancellation, marked } = bulk({ paid: purchases(5) });
    expect(await service.refundOnce()).toEqual({ performanceId: 7, canceled: 5, completed: false });
    expect(repository.paidPurchases).toHaveBeenCalledWith(7, BULK_REFUND_CHUNK);
    expect(cancellation.cancelAsOperator).toHaveBeenCalledTimes(5);
    expect(cancellation.cancelAsOperator).toHaveBeenCalledWith('u1', 'p1', 'operator-keep-checked-in');
    expect(marked).toEqual([false]);
    expect((await service.canceled.get()).values[0].value).toBe(5);
  });

  it('counts only the cancels it made: one already canceled (by its buyer, another process) or gone is skipped', async () => {
    const { service } = bulk({
      paid: purchases(4),
      cancel: async (id) => {
        if (id === 'p0') throw new PurchaseCanceledError();
        if (id === 'p1') throw new NotFoundError('purchase');
        // Not confirmed by the replicas in time: the cancel stands, its flush owes the refund.
        if (id === 'p2') throw new CancellationNotReplicatedError();
      },
    });
    expect(await service.refundOnce()).toEqual({ performanceId: 7, canceled: 2, completed: false });
  });

  it('lets any other failure through: the step is retried, what it did stands', async () => {
    const failure = new Error('redis down');
    const { service } = bulk({
      paid: purchases(2),
      cancel: async () => {
        throw failure;
      },
    });
    await expect(service.refundOnce()).rejects.toBe(failure);
  });

  it('waits while the purchase stream holds entries not written to PostgreSQL', async () => {
    const { service, marked } = bulk({ unwritten: 3 });
    expect(await service.refundOnce()).toEqual({ performanceId: 7, canceled: 0, completed: false });
    expect(marked).toEqual([false]);
  });

  it('waits while a refund is owed, and completes once every purchase is canceled and refunded', async () => {
    expect(await bulk({ figures: { paid: 0, refundOwed: 1, refunded: 4 } }).service.refundOnce()).toMatchObject({
      completed: false,
    });
    const done = bulk({ figures: { paid: 0, refundOwed: 0, refunded: 5 } });
    expect(await done.service.refundOnce()).toEqual({ performanceId: 7, canceled: 0, completed: true });
    expect(done.marked).toEqual([true]);
  });

  it('runs at most BULK_REFUND_CONCURRENCY cancels at once', async () => {
    let running = 0;
    let most = 0;
    const { service } = bulk({
      paid: purchases(30),
      cancel: async () => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setImmediate(resolve));
        running -= 1;
      },
    });
    expect((await service.refundOnce())?.canceled).toBe(30);
    expect(most).toBe(8);
  });
});
