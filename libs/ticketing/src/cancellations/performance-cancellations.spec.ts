import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { StoreUnavailableError } from '@app/core';
import type {
  PerformanceCancellationRecord,
  PerformanceCancellationsRepository,
  PricedPerformance,
} from '@app/database';
import type { CatalogCache } from '../catalog/catalog-cache';
import { InvalidInputError, NotFoundError, PerformanceCancelNotReplicatedError } from '../errors';
import type { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import type { SeatStateStore } from '../seats/seat-state.store';
import { CANCELED_HOLDS_PAGE, type PerformanceCancellationStore } from './performance-cancellation.store';
import { PerformanceCancellations } from './performance-cancellations';

const record: PerformanceCancellationRecord = {
  performanceId: 7,
  reason: 'ill',
  requestedBy: 'admin',
  requestedAt: new Date('2030-01-01T00:00:00Z'),
  completedAt: null,
};
const operator = { id: 'admin', email: 'admin@example.test' };
const row = {
  id: 7,
  status: 'CANCELED',
  salesOpenAt: new Date('2029-01-01T00:00:00Z'),
  startsAt: new Date('2030-03-01T19:00:00Z'),
  salesCloseAt: null,
  cancelUntil: null,
  noOrphanSeats: false,
  maxTicketsPerBuyer: null,
} as unknown as PricedPerformance;

function service(
  options: {
    created?: boolean;
    found?: boolean;
    registered?: boolean;
    completed?: boolean;
    figures?: { paid: number; refundOwed: number; refunded: number; failing: number; owedAtWindow: number };
    unwritten?: number;
    waitReplicas?: number;
    acked?: number;
    /** Entries of the hold expiry index each endHolds call takes, in order (then 0). */
    holdPages?: number[];
  } = {},
) {
  const cancellation = { ...record, completedAt: options.completed ? new Date('2030-01-01T00:01:00Z') : null };
  const repository = {
    cancel: vi.fn(
      async (_id: number, _request: unknown, apply: (row: PricedPerformance) => Promise<void>, _audit: unknown) => {
        if (options.found === false) return null;
        if (options.created === false) return { created: false, cancellation };
        await apply(row);
        return { created: true, cancellation };
      },
    ),
    find: vi.fn(async () => (options.found === false ? null : cancellation)),
    figures: vi.fn(async () => options.figures ?? { paid: 2, refundOwed: 1, refunded: 3, failing: 1, owedAtWindow: 0 }),
  };
  const store = {
    unwrittenPaid: vi.fn(async () =>
      Array.from({ length: options.unwritten ?? 1 }, (_, i) => ({ purchaseId: `p${i}`, userId: 'u' })),
    ),
    replicated: vi.fn(async () => options.acked ?? 0),
    setLifecycle: vi.fn(async () => options.registered !== false),
    endHolds: vi.fn(async () => {
      const entries = options.holdPages?.shift() ?? 0;
      return { entries, ended: entries };
    }),
  };
  const seatState = { setLifecycle: vi.fn(async () => options.registered !== false) };
  const rebuilder = { ensure: vi.fn(async () => undefined) };
  const cache = { invalidate: vi.fn(async () => undefined) };
  const cancellations = new PerformanceCancellations(
    repository as unknown as PerformanceCancellationsRepository,
    store as unknown as PerformanceCancellationStore,
    seatState as unknown as SeatStateStore,
    rebuilder as unknown as SeatStateRebuilder,
    cache as unknown as CatalogCache,
    { REDIS_WAIT_REPLICAS: options.waitReplicas ?? 0, REDIS_WAIT_TIMEOUT_MS: 500 } as Env,
  );
  return { cancellations, repository, store, seatState, rebuilder, cache };
}

describe('PerformanceCancellations.cancel', () => {
  it('marks the live state CANCELED inside the row lock, drops the catalog caches and answers the progress', async () => {
    const { cancellations, repository, store, seatState, rebuilder, cache } = service();
    const answer = await cancellations.cancel(7, 'ill', operator);
    expect(rebuilder.ensure).toHaveBeenCalledWith(7);
    expect(repository.cancel).toHaveBeenCalledWith(7, { reason: 'ill', requestedBy: 'admin' }, expect.any(Function), {
      actorId: 'admin',
      actorEmail: 'admin@example.test',
      action: 'performance.cancel',
      subjectId: 'performance:7',
      details: { performanceId: 7, reason: 'ill' },
    });
    // On the store's own client (OPERATOR_REDIS), where its replica wait counts it.
    expect(store.setLifecycle).toHaveBeenCalledWith(
      7,
      row.salesOpenAt,
      expect.objectContaining({ status: 'CANCELED' }),
    );
    expect(seatState.setLifecycle).not.toHaveBeenCalled();
    expect(cache.invalidate).toHaveBeenCalledOnce();
    // 2 PAID + 1 refund owed in PostgreSQL, 1 PAID only in Redis.
    expect(answer).toEqual({
      created: true,
      progress: { ...record, status: 'IN_PROGRESS', refunded: 3, remaining: 4, failing: 1, owedAtWindow: 0 },
    });
  });

  it('answers the first cancellation again, changing nothing but the live holds and caches a failed cancel left', async () => {
    const { cancellations, store, cache } = service({ created: false, holdPages: [3] });
    expect((await cancellations.cancel(7, 'other', operator)).created).toBe(false);
    expect(store.setLifecycle).not.toHaveBeenCalled();
    expect(cache.invalidate).toHaveBeenCalledOnce();
    expect(store.endHolds).toHaveBeenCalledOnce();
  });

  it('ends the live holds page after page, after the commit, until a page comes back short', async () => {
    const { cancellations, repository, store } = service({ holdPages: [CANCELED_HOLDS_PAGE, CANCELED_HOLDS_PAGE, 5] });
    await cancellations.cancel(7, null, operator);
    expect(store.endHolds.mock.calls).toEqual([
      [7, CANCELED_HOLDS_PAGE],
      [7, CANCELED_HOLDS_PAGE],
      [7, CANCELED_HOLDS_PAGE],
    ]);
    expect(store.endHolds.mock.invocationCallOrder[0]).toBeGreaterThan(repository.cancel.mock.invocationCallOrder[0]);
  });

  it('drops the catalog caches once committed, also when ending the live holds then fails', async () => {
    const { cancellations, store, cache } = service();
    store.endHolds.mockRejectedValueOnce(new StoreUnavailableError('redis', new Error('timeout')));
    await expect(cancellations.cancel(7, null, operator)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(cache.invalidate).toHaveBeenCalledOnce();
  });

  it('drops the catalog caches on the repeat of a cancel whose own drop failed after its commit', async () => {
    const first = service();
    first.cache.invalidate.mockRejectedValueOnce(new StoreUnavailableError('redis', new Error('timeout')));
    await expect(first.cancellations.cancel(7, null, operator)).rejects.toBeInstanceOf(StoreUnavailableError);
    const repeat = service({ created: false });
    expect((await repeat.cancellations.cancel(7, null, operator)).created).toBe(false);
    expect(repeat.cache.invalidate).toHaveBeenCalledOnce();
  });

  it('waits for REDIS_WAIT_REPLICAS replicas of the status before the commit, and rolls back without them', async () => {
    const confirmed = service({ waitReplicas: 1, acked: 1 });
    expect((await confirmed.cancellations.cancel(7, null, operator)).created).toBe(true);
    expect(confirmed.store.replicated).toHaveBeenCalledWith(7, 1, 500);
    const short = service({ waitReplicas: 2, acked: 1 });
    await expect(short.cancellations.cancel(7, null, operator)).rejects.toBeInstanceOf(
      PerformanceCancelNotReplicatedError,
    );
    expect(short.cache.invalidate).not.toHaveBeenCalled();
    const none = service();
    await none.cancellations.cancel(7, null, operator);
    expect(none.store.replicated).not.toHaveBeenCalled();
  });

  it('refuses a reason over 500 characters (counted in code points, as the DTO and PostgreSQL do), and an unknown performance', async () => {
    await expect(service().cancellations.cancel(7, 'x'.repeat(501), operator)).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(service().cancellations.cancel(7, '😀'.repeat(501), operator)).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect((await service().cancellations.cancel(7, '😀'.repeat(500), operator)).created).toBe(true);
    await expect(service().cancellations.cancel(0, null, operator)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service({ found: false }).cancellations.cancel(7, null, operator)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('rolls back when Redis lost the performance again before its status was written', async () => {
    const { cancellations, cache } = service({ registered: false });
    await expect(cancellations.cancel(7, null, operator)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(cache.invalidate).not.toHaveBeenCalled();
  });
});

describe('PerformanceCancellations.progress', () => {
  it('is COMPLETED only with nothing remaining', async () => {
    const settled = { paid: 0, refundOwed: 0, refunded: 3, failing: 0, owedAtWindow: 0 };
    const done = service({ completed: true, figures: settled, unwritten: 0 });
    expect(await done.cancellations.progress(7)).toMatchObject({ status: 'COMPLETED', refunded: 3, remaining: 0 });
    // Refunds owed at the window are the window's to give back: the cancellation completes without them.
    const window = service({ completed: true, figures: { ...settled, owedAtWindow: 2 }, unwritten: 0 });
    expect(await window.cancellations.progress(7)).toMatchObject({
      status: 'COMPLETED',
      remaining: 0,
      owedAtWindow: 2,
    });
    // A sale a live state that lost its status let through, after the cancellation completed.
    const late = service({ completed: true, figures: { ...settled, paid: 1 }, unwritten: 0 });
    expect(await late.cancellations.progress(7)).toMatchObject({
      status: 'IN_PROGRESS',
      completedAt: null,
      remaining: 1,
    });
    const unflushed = service({ completed: true, figures: settled, unwritten: 1 });
    expect(await unflushed.cancellations.progress(7)).toMatchObject({ status: 'IN_PROGRESS', remaining: 1 });
  });

  it('is a NotFoundError for a performance never canceled', async () => {
    await expect(service({ found: false }).cancellations.progress(7)).rejects.toThrow('cancellation not found');
    await expect(service().cancellations.progress(-1)).rejects.toBeInstanceOf(NotFoundError);
  });
});
