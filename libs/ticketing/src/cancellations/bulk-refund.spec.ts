import { describe, expect, it, vi } from 'vitest';
import type {
  CancellationFigures,
  PaidPurchaseRef,
  PerformanceCancellationRecord,
  PerformanceCancellationsRepository,
  RefundPass,
} from '@app/database';
import { CancellationNotReplicatedError, NotFoundError, PurchaseCanceledError } from '../errors';
import type { PurchaseCancellation } from '../purchases/purchase-cancellation';
import { BULK_REFUND_CHUNK, BulkRefund, REOPEN_CHECK_INTERVAL_MS } from './bulk-refund';
import { CANCELED_HOLDS_PAGE, type PerformanceCancellationStore } from './performance-cancellation.store';

const open: PerformanceCancellationRecord = {
  performanceId: 7,
  reason: null,
  requestedBy: 'admin',
  requestedAt: new Date(0),
  completedAt: null,
};

const settledFigures: CancellationFigures = { paid: 0, refundOwed: 0, refunded: 0, failing: 0, owedAtWindow: 0 };

function bulk(options: {
  cancellation?: PerformanceCancellationRecord | null;
  refundCursor?: string | null;
  paid?: PaidPurchaseRef[];
  unwritten?: number;
  /** Entries of the performance's hold expiry index the step finds (each page takes up to CANCELED_HOLDS_PAGE). */
  holdEntries?: number;
  figures?: CancellationFigures;
  /**
   * Throws to fail the cancel; answers false when the refund was not made now, 'none' for a free
   * purchase (nothing to refund).
   */
  cancel?: (purchaseId: string) => Promise<boolean | 'none' | void>;
  reopened?: number[];
}) {
  const marked: { completed: boolean; refundCursor: string | null }[] = [];
  const repository = {
    workOnOpen: vi.fn(
      async (work: (pass: RefundPass) => Promise<{ completed: boolean; refundCursor: string | null }>) => {
        const cancellation = options.cancellation === undefined ? open : options.cancellation;
        if (!cancellation) return null;
        const done = await work({ cancellation, refundCursor: options.refundCursor ?? null });
        marked.push(done);
        return { cancellation, completed: done.completed };
      },
    ),
    paidPurchases: vi.fn(async () => options.paid ?? []),
    figures: vi.fn(async () => options.figures ?? settledFigures),
    recordFailure: vi.fn(async () => undefined),
    clearFailure: vi.fn(async () => undefined),
    reopenWithPaid: vi.fn(async () => options.reopened ?? []),
  };
  const store = {
    unwrittenEntries: vi.fn(async () => options.unwritten ?? 0),
    endHolds: vi.fn(async (_performanceId: number, limit: number) => {
      const entries = Math.min(limit, options.holdEntries ?? 0);
      return { entries, ended: entries };
    }),
  };
  const cancellation = {
    cancelForCanceledPerformance: vi.fn(async (_userId: string, purchaseId: string) => {
      const made = await options.cancel?.(purchaseId);
      return { refund: made === 'none' ? 'none' : made === false ? 'owed' : 'made' };
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

  it("cancels each paid purchase through the canceled performance's cancel (an operator's, checked-in seats refunded too), and is not done yet", async () => {
    const { service, repository, cancellation, marked } = bulk({ paid: purchases(5) });
    expect(await service.refundOnce()).toEqual({ performanceId: 7, canceled: 5, failed: 0, completed: false });
    expect(repository.paidPurchases).toHaveBeenCalledWith(7, null, BULK_REFUND_CHUNK);
    expect(cancellation.cancelForCanceledPerformance).toHaveBeenCalledTimes(5);
    expect(cancellation.cancelForCanceledPerformance).toHaveBeenCalledWith('u1', 'p1');
    // Fewer than a chunk: the next pass starts from the first paid purchase again.
    expect(marked).toEqual([{ completed: false, refundCursor: null }]);
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
    expect(await service.refundOnce()).toEqual({ performanceId: 7, canceled: 2, failed: 0, completed: false });
  });

  it('goes on with the others past a purchase whose cancel or refund fails, noting it for the progress and the operator', async () => {
    const { service, repository, cancellation } = bulk({
      paid: purchases(4),
      cancel: async (id) => {
        if (id === 'p0') throw new Error('redis down');
        // The gateway refused the refund: canceled, the refund owed to the reconciler.
        if (id === 'p2') return false;
      },
    });
    // p2 is canceled all the same (its refund owed): counted in both.
    expect(await service.refundOnce()).toEqual({ performanceId: 7, canceled: 3, failed: 2, completed: false });
    expect(cancellation.cancelForCanceledPerformance).toHaveBeenCalledTimes(4);
    expect(repository.recordFailure).toHaveBeenCalledWith(7, 'p0', 'the cancel failed: redis down');
    expect(repository.recordFailure).toHaveBeenCalledWith(7, 'p2', expect.stringContaining('refund was not made'));
    // The refunded ones are noted nowhere (a failure noted earlier went with their refund's record).
    expect(repository.recordFailure).toHaveBeenCalledTimes(2);
  });

  it('counts a free purchase canceled (nothing to refund) as canceled, neither failing nor among the refunds', async () => {
    const { service, repository } = bulk({
      paid: purchases(3),
      cancel: async (id) => (id === 'p1' ? 'none' : true),
    });
    expect(await service.refundOnce()).toEqual({ performanceId: 7, canceled: 3, failed: 0, completed: false });
    expect(repository.recordFailure).not.toHaveBeenCalled();
    // A failure noted on an earlier pass, while it was not written yet, goes: nothing is owed.
    expect(repository.clearFailure).toHaveBeenCalledExactlyOnceWith('p1');
    expect((await service.canceled.get()).values[0].value).toBe(2);
  });

  it('goes on after a full chunk on the next pass, and completes only after a round from the first', async () => {
    const full = bulk({ paid: purchases(BULK_REFUND_CHUNK) });
    await full.service.refundOnce();
    expect(full.marked).toEqual([{ completed: false, refundCursor: `p${BULK_REFUND_CHUNK - 1}` }]);
    const after = bulk({ refundCursor: 'p99', paid: [] });
    expect(await after.service.refundOnce()).toMatchObject({ completed: false });
    expect(after.repository.paidPurchases).toHaveBeenCalledWith(7, 'p99', BULK_REFUND_CHUNK);
    expect(after.marked).toEqual([{ completed: false, refundCursor: null }]);
  });

  it('opens completed cancellations with a paid purchase again, at most every REOPEN_CHECK_INTERVAL_MS', async () => {
    const { service, repository } = bulk({ reopened: [3] });
    await service.refundOnce();
    await service.refundOnce();
    expect(repository.reopenWithPaid).toHaveBeenCalledOnce();
    vi.useFakeTimers({ now: Date.now() + REOPEN_CHECK_INTERVAL_MS + 1, toFake: ['Date'] });
    try {
      await service.refundOnce();
    } finally {
      vi.useRealTimers();
    }
    expect(repository.reopenWithPaid).toHaveBeenCalledTimes(2);
  });

  it('lets a failure of PostgreSQL or Redis around the cancels through: the step is retried, what it did stands', async () => {
    const failure = new Error('redis down');
    const { service, store } = bulk({ paid: purchases(2) });
    store.unwrittenEntries.mockRejectedValueOnce(failure);
    await expect(service.refundOnce()).rejects.toBe(failure);
  });

  it('waits while the purchase stream holds entries not written to PostgreSQL', async () => {
    const { service, marked } = bulk({ unwritten: 3 });
    expect(await service.refundOnce()).toEqual({ performanceId: 7, canceled: 0, failed: 0, completed: false });
    expect(marked).toEqual([{ completed: false, refundCursor: null }]);
  });

  it('waits while a refund is owed, and completes once every purchase is canceled and refunded', async () => {
    const owed = { ...settledFigures, refundOwed: 1, refunded: 4, failing: 1 };
    expect(await bulk({ figures: owed }).service.refundOnce()).toMatchObject({ completed: false });
    const done = bulk({ figures: { ...settledFigures, refunded: 5 } });
    expect(await done.service.refundOnce()).toEqual({ performanceId: 7, canceled: 0, failed: 0, completed: true });
    expect(done.marked).toEqual([{ completed: true, refundCursor: null }]);
  });

  it('ends a page of the live holds at each step, and completes only once a page comes back short', async () => {
    const full = bulk({ holdEntries: CANCELED_HOLDS_PAGE, figures: { ...settledFigures, refunded: 5 } });
    expect(await full.service.refundOnce()).toMatchObject({ completed: false });
    expect(full.store.endHolds).toHaveBeenCalledWith(7, CANCELED_HOLDS_PAGE);
    expect(full.marked).toEqual([{ completed: false, refundCursor: null }]);
    const last = bulk({ holdEntries: CANCELED_HOLDS_PAGE - 1, figures: { ...settledFigures, refunded: 5 } });
    expect(await last.service.refundOnce()).toMatchObject({ completed: true });
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
