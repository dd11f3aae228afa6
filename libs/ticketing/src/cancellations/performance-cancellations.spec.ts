import { describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '@app/core';
import type {
  PerformanceCancellationRecord,
  PerformanceCancellationsRepository,
  PricedPerformance,
} from '@app/database';
import type { CatalogCache } from '../catalog/catalog-cache';
import { InvalidInputError, NotFoundError } from '../errors';
import type { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import type { SeatStateStore } from '../seats/seat-state.store';
import type { PerformanceCancellationStore } from './performance-cancellation.store';
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

function service(options: { created?: boolean; found?: boolean; registered?: boolean; completed?: boolean } = {}) {
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
    figures: vi.fn(async () => ({ paid: 2, refundOwed: 1, refunded: 3 })),
  };
  const store = { unwrittenPaid: vi.fn(async () => [{ purchaseId: 'p9', userId: 'u' }]) };
  const seatState = { setLifecycle: vi.fn(async () => options.registered !== false) };
  const rebuilder = { ensure: vi.fn(async () => undefined) };
  const cache = { invalidate: vi.fn(async () => undefined) };
  const cancellations = new PerformanceCancellations(
    repository as unknown as PerformanceCancellationsRepository,
    store as unknown as PerformanceCancellationStore,
    seatState as unknown as SeatStateStore,
    rebuilder as unknown as SeatStateRebuilder,
    cache as unknown as CatalogCache,
  );
  return { cancellations, repository, store, seatState, rebuilder, cache };
}

describe('PerformanceCancellations.cancel', () => {
  it('marks the live state CANCELED inside the row lock, drops the catalog caches and answers the progress', async () => {
    const { cancellations, repository, seatState, rebuilder, cache } = service();
    const answer = await cancellations.cancel(7, 'ill', operator);
    expect(rebuilder.ensure).toHaveBeenCalledWith(7);
    expect(repository.cancel).toHaveBeenCalledWith(7, { reason: 'ill', requestedBy: 'admin' }, expect.any(Function), {
      actorId: 'admin',
      actorEmail: 'admin@example.test',
      action: 'performance.cancel',
      subjectId: 'performance:7',
      details: { performanceId: 7, reason: 'ill' },
    });
    expect(seatState.setLifecycle).toHaveBeenCalledWith(
      7,
      row.salesOpenAt,
      expect.objectContaining({ status: 'CANCELED' }),
    );
    expect(cache.invalidate).toHaveBeenCalledOnce();
    // 2 PAID + 1 refund owed in PostgreSQL, 1 PAID only in Redis.
    expect(answer).toEqual({
      created: true,
      progress: { ...record, status: 'IN_PROGRESS', refunded: 3, remaining: 4 },
    });
  });

  it('answers the first cancellation again, changing nothing', async () => {
    const { cancellations, seatState, cache } = service({ created: false });
    expect((await cancellations.cancel(7, 'other', operator)).created).toBe(false);
    expect(seatState.setLifecycle).not.toHaveBeenCalled();
    expect(cache.invalidate).not.toHaveBeenCalled();
  });

  it('refuses a reason over 500 characters, and an unknown performance', async () => {
    await expect(service().cancellations.cancel(7, 'x'.repeat(501), operator)).rejects.toBeInstanceOf(
      InvalidInputError,
    );
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
  it('reads PostgreSQL only once completed', async () => {
    const { cancellations, store } = service({ completed: true });
    expect(await cancellations.progress(7)).toMatchObject({ status: 'COMPLETED', refunded: 3, remaining: 3 });
    expect(store.unwrittenPaid).not.toHaveBeenCalled();
  });

  it('is a NotFoundError for a performance never canceled', async () => {
    await expect(service({ found: false }).cancellations.progress(7)).rejects.toThrow('cancellation not found');
    await expect(service().cancellations.progress(-1)).rejects.toBeInstanceOf(NotFoundError);
  });
});
