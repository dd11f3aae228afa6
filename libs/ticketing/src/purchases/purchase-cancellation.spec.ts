import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { StoreUnavailableError } from '@app/core';
import {
  CheckedInSeat,
  PaymentAttemptsRepository,
  PerformanceRepository,
  PurchaseRecord,
  PurchaseRefundsRepository,
  PurchaseRepository,
  PurchaseStatus,
  TicketsRepository,
} from '@app/database';
import { Logger } from '@nestjs/common';
import {
  CancellationClosedError,
  CancellationNotReplicatedError,
  NotFoundError,
  PurchaseCanceledError,
  PurchaseCheckedInError,
  PurchaseTransferredError,
} from '../errors';
import { newIdOf } from '../ids';
import type { DeadAcceptMarks } from './dead-accept-marks';
import { PaymentGateway } from './payment-gateway';
import type { Purchase } from './purchase';
import { flushRetryAfterSeconds, PurchaseCancellation } from './purchase-cancellation';
import type { CancelPurchaseResult } from './purchase-scripts';
import { PurchaseStore } from './purchase.store';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';

const PURCHASE = newIdOf(7);
/** The operator's account in operators' cancels. */
const OPERATOR = newIdOf(9);
/** An id of the previous version's layout: it names no performance. */
const OLD_PURCHASE = '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';
const canceled: Purchase = {
  id: PURCHASE,
  reservationId: newIdOf(7),
  userId: 'buyer',
  performanceId: 7,
  seatIds: [1, 2],
  amount: 20,
  currency: 'KRW',
  status: 'CANCELED',
  createdAt: new Date(1000),
  canceledAt: new Date(2000),
  chargeId: 'ch-1',
  refundedSeatIds: [],
  refundedAmount: 0,
};
const row: PurchaseRecord = { ...canceled, id: OLD_PURCHASE, status: PurchaseStatus.Paid, canceledAt: null };

/**
 * The cancel script's answer for a paid purchase it canceled just now (at 2000 ms): charge `ch-1`,
 * 1500 KRW to refund, no seat kept; `changes` over it. A fresh object each call.
 */
function canceledNow(
  changes: Partial<Extract<CancelPurchaseResult, { outcome: 'CANCELED' }>> = {},
): CancelPurchaseResult {
  return {
    outcome: 'CANCELED',
    canceledAt: 2000,
    chargeId: 'ch-1',
    keptSeatIds: [],
    amount: 1500,
    paymentMethod: '',
    currency: 'KRW',
    ...changes,
  };
}

/** The gateway refund of {@link canceledNow}'s charge, keyed by the purchase. */
const REFUND = { chargeId: 'ch-1', idempotencyKey: `refund:${PURCHASE}`, amount: 1500, currency: 'KRW' };

/** `inRedis`: the cancel script's answer, or its answers in turn (the last one repeated). */
function cancellation(
  inRedis: CancelPurchaseResult | CancelPurchaseResult[],
  persisted: PurchaseRecord | null = null,
  wait: { replicas: number; acked: number } = { replicas: 0, acked: 0 },
) {
  const answers = [inRedis].flat();
  const store = {
    replicated: vi.fn(async () => wait.acked),
    salesNode: vi.fn((_performanceId: number) => '127.0.0.1:7001'),
    // The store's own rule over the two fakes above.
    unreplicated: (...args: Parameters<PurchaseStore['unreplicated']>) =>
      PurchaseStore.prototype.unreplicated.apply(store as unknown as PurchaseStore, args),
    performanceOfPurchase: vi.fn(async (id: string) => (id === PURCHASE ? 7 : null)),
    cancel: vi.fn(async (): Promise<CancelPurchaseResult> => (answers.length > 1 ? answers.shift()! : answers[0])),
    read: vi.fn(async (): Promise<Purchase | null> => canceled),
    index: vi.fn(async () => {}),
  };
  const purchases = {
    findById: vi.fn(async () => persisted),
    cancelWritten: vi.fn(async (): Promise<'canceled' | 'absent' | 'paid'> => 'canceled'),
  };
  const attempts = { markRefunded: vi.fn(async () => true) };
  const gateway = { refund: vi.fn(async () => {}) };
  const tickets = {
    checkedInSeats: vi.fn(async (): Promise<CheckedInSeat[]> => []),
    transferredSeatIds: vi.fn(async (): Promise<number[]> => []),
  };
  const rebuilder = { ensure: vi.fn(async () => {}) };
  const performances = { findById: vi.fn(async () => ({ id: 7, timeZone: 'Asia/Seoul' })) };
  // By default every marked seat's accept may still come (a pending offer): no mark is dead.
  const deadMarks = { takeBack: vi.fn(async (): Promise<number[]> => []) };
  const service = new PurchaseCancellation(
    store as unknown as PurchaseStore,
    purchases as unknown as PurchaseRepository,
    attempts as unknown as PaymentAttemptsRepository,
    gateway as unknown as PaymentGateway,
    tickets as unknown as TicketsRepository,
    rebuilder as unknown as SeatStateRebuilder,
    {
      FAULT_CRASH_AFTER_CANCEL: false,
      REDIS_WAIT_REPLICAS: wait.replicas,
      REDIS_WAIT_TIMEOUT_MS: 250,
      PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS: 50,
    } as Env,
    performances as unknown as PerformanceRepository,
    {} as PurchaseRefundsRepository,
    deadMarks as unknown as DeadAcceptMarks,
  );
  return { service, store, purchases, attempts, gateway, tickets, rebuilder, performances, deadMarks };
}

describe('PurchaseCancellation', () => {
  it("tells a buyer past cancelUntil the deadline on the venue's clock, and refunds nothing", async () => {
    const { service, gateway, performances } = cancellation({
      outcome: 'CANCEL_CLOSED',
      cancelUntil: Date.parse('2027-03-01T10:30:00Z'),
    });
    const refusal = await service.cancel('buyer', PURCHASE).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(CancellationClosedError);
    expect(refusal).toMatchObject({
      message: 'purchases of this performance could be canceled until Mon 2027-03-01 19:30 UTC+09:00 (Asia/Seoul)',
      details: { cancelUntil: '2027-03-01T19:30:00+09:00', timeZone: 'Asia/Seoul' },
    });
    expect(performances.findById).toHaveBeenCalledWith(7);
    expect(gateway.refund).not.toHaveBeenCalled();
  });

  it('tells a buyer of a performance without self-service cancels that none is allowed', async () => {
    const { service } = cancellation({ outcome: 'CANCEL_CLOSED', cancelUntil: null });
    await expect(service.cancel('buyer', PURCHASE)).rejects.toMatchObject({
      message: 'purchases of this performance cannot be canceled by the buyer',
      details: { cancelUntil: null, timeZone: 'Asia/Seoul' },
    });
  });

  it('cancels in Redis, refunds the charge, records the refund and indexes the purchase for its buyer', async () => {
    const { service, store, attempts, gateway } = cancellation(canceledNow());
    expect(await service.cancel('buyer', PURCHASE)).toEqual({ ...canceled, keptSeatIds: [], refund: 'made' });
    expect(store.cancel).toHaveBeenCalledWith(7, PURCHASE, 'buyer', null, {
      mode: 'buyer',
      canceledBy: 'buyer',
      checkedIn: [],
      transferredSeatIds: [],
    });
    expect(store.index).toHaveBeenCalledWith('buyer', 7, PURCHASE, 1000);
    expect(gateway.refund).toHaveBeenCalledWith(REFUND);
    expect(attempts.markRefunded).toHaveBeenCalledWith(PURCHASE);
    expect(attempts.markRefunded.mock.invocationCallOrder[0]).toBeGreaterThan(
      gateway.refund.mock.invocationCallOrder[0],
    );
  });

  it('writes the cancel of a free purchase (amount 0, no charge) to PostgreSQL and refunds nothing: none owed', async () => {
    const { service, purchases, attempts, gateway } = cancellation(canceledNow({ chargeId: '', amount: 0 }));
    expect(await service.cancel('buyer', PURCHASE)).toMatchObject({ status: 'CANCELED', refund: 'none' });
    expect(purchases.cancelWritten).toHaveBeenCalledWith(PURCHASE, new Date(2000), 'buyer', [], 0, null);
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.markRefunded).not.toHaveBeenCalled();
  });

  it('refunds once REDIS_WAIT_REPLICAS replicas have the cancel', async () => {
    const { service, store, gateway } = cancellation(canceledNow(), null, { replicas: 1, acked: 1 });
    await service.cancel('buyer', PURCHASE);
    expect(store.replicated).toHaveBeenCalledWith(7, 1, 250);
    expect(gateway.refund.mock.invocationCallOrder[0]).toBeGreaterThan(store.replicated.mock.invocationCallOrder[0]);
  });

  it.each([
    ['too few replicas have the cancel', { replicas: 1, acked: 0 }, false],
    ['the WAIT ran on another node than the cancel (a failover between them)', { replicas: 1, acked: 1 }, true],
  ])('answers 503 and refunds nothing when %s', async (_, wait, moved) => {
    const { service, store, gateway, attempts } = cancellation(canceledNow(), null, wait);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    if (moved) store.salesNode.mockReturnValueOnce('127.0.0.1:7001').mockReturnValueOnce('127.0.0.1:7004');
    await expect(service.cancel('buyer', PURCHASE)).rejects.toBeInstanceOf(CancellationNotReplicatedError);
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.markRefunded).not.toHaveBeenCalled();
    vi.restoreAllMocks();
  });

  it.each(['canceled'] as const)(
    'writes the cancellation to PostgreSQL before the refund (there: %s), then refunds',
    async (there) => {
      const { service, purchases, gateway } = cancellation(canceledNow());
      purchases.cancelWritten.mockResolvedValueOnce(there);
      await service.cancel('buyer', PURCHASE);
      expect(purchases.cancelWritten).toHaveBeenCalledWith(PURCHASE, new Date(2000), 'buyer', [], 1500, null);
      expect(gateway.refund.mock.invocationCallOrder[0]).toBeGreaterThan(
        purchases.cancelWritten.mock.invocationCallOrder[0],
      );
    },
  );

  it.each([
    ['the purchase is not in PostgreSQL yet (its flush writes the cancellation)', async () => 'absent' as const],
    ['a flush wrote it paid after the write looked', async () => 'paid' as const],
    [
      'PostgreSQL could not be written',
      async (): Promise<'paid'> => {
        throw new Error('PostgreSQL gone');
      },
    ],
  ])('leaves the refund to batch, answering the cancellation, when %s', async (_, written) => {
    const { service, purchases, gateway, attempts } = cancellation(canceledNow());
    purchases.cancelWritten.mockImplementationOnce(written);
    expect(await service.cancel('buyer', PURCHASE)).toMatchObject({ id: PURCHASE, status: 'CANCELED' });
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.markRefunded).not.toHaveBeenCalled();
  });

  it('answers the cancellation when the gateway fails the refund, leaving the refund owed (not recorded)', async () => {
    const { service, attempts, gateway } = cancellation(canceledNow());
    gateway.refund.mockRejectedValueOnce(new Error('gateway down'));
    expect(await service.cancel('buyer', PURCHASE)).toMatchObject({
      id: PURCHASE,
      status: 'CANCELED',
      refund: 'owed',
    });
    expect(attempts.markRefunded).not.toHaveBeenCalled();
  });

  it('stops waiting for a gateway refund that does not answer after PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS, leaving it owed', async () => {
    const { service, attempts, gateway } = cancellation(canceledNow());
    gateway.refund.mockReturnValueOnce(new Promise(() => undefined));
    expect(await service.cancel('buyer', PURCHASE)).toMatchObject({ status: 'CANCELED', refund: 'owed' });
    expect(attempts.markRefunded).not.toHaveBeenCalled();
  });

  it('records no refund for a purchase without a charge noted (left to the reconciler)', async () => {
    const { service, attempts, gateway } = cancellation(canceledNow({ chargeId: '' }));
    expect(await service.cancel('buyer', PURCHASE)).toMatchObject({ id: PURCHASE, status: 'CANCELED' });
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.markRefunded).not.toHaveBeenCalled();
  });

  it('answers the cancellation when the refund was made but its record failed', async () => {
    const { service, attempts, gateway } = cancellation(canceledNow());
    attempts.markRefunded.mockRejectedValueOnce(new Error('PostgreSQL gone'));
    expect(await service.cancel('buyer', PURCHASE)).toMatchObject({ id: PURCHASE, status: 'CANCELED' });
    expect(gateway.refund).toHaveBeenCalledWith(REFUND);
  });

  it('puts a purchase gone from Redis back from PostgreSQL to cancel it', async () => {
    const { service, store } = cancellation(canceledNow(), row);
    await service.cancel('buyer', OLD_PURCHASE);
    expect(store.cancel).toHaveBeenCalledTimes(1);
    expect(store.cancel).toHaveBeenCalledWith(
      7,
      OLD_PURCHASE,
      'buyer',
      expect.objectContaining({ id: OLD_PURCHASE, status: 'PAID' }),
      { mode: 'buyer', canceledBy: 'buyer', checkedIn: [], transferredSeatIds: [] },
    );
  });

  it('refuses a purchase with a checked-in ticket, passing the seats PostgreSQL knows, with their check-ins, to the script', async () => {
    const { service, store, tickets, gateway } = cancellation({ outcome: 'CHECKED_IN', seatIds: [2] });
    tickets.checkedInSeats.mockResolvedValueOnce([{ seatId: 2, checkIn: 'scan-token' }]);
    const refused = service.cancel('buyer', PURCHASE);
    await expect(refused).rejects.toBeInstanceOf(PurchaseCheckedInError);
    await expect(refused).rejects.toMatchObject({
      message: 'purchase cannot be canceled: a ticket of it was checked in at the door',
      details: { seatIds: [2] },
    });
    expect(store.cancel).toHaveBeenCalledWith(7, PURCHASE, 'buyer', null, {
      mode: 'buyer',
      canceledBy: 'buyer',
      checkedIn: [{ seatId: 2, checkIn: 'scan-token' }],
      transferredSeatIds: [],
    });
    expect(gateway.refund).not.toHaveBeenCalled();
  });

  it('passes the seats PostgreSQL has transferred to the script, which refuses the buyer those still the purchase’s', async () => {
    const { service, store, tickets, gateway } = cancellation({ outcome: 'TRANSFERRED', seatIds: [3] });
    tickets.transferredSeatIds.mockResolvedValueOnce([3, 4]);
    const refused = service.cancel('buyer', PURCHASE);
    await expect(refused).rejects.toBeInstanceOf(PurchaseTransferredError);
    await expect(refused).rejects.toMatchObject({ code: 'PurchaseTransferred', details: { seatIds: [3] } });
    expect(store.cancel).toHaveBeenCalledWith(7, PURCHASE, 'buyer', null, {
      mode: 'buyer',
      canceledBy: 'buyer',
      checkedIn: [],
      transferredSeatIds: [3, 4],
    });
    expect(gateway.refund).not.toHaveBeenCalled();
  });

  it("answers anyone else's purchase with a transferred ticket 404, as the script would", async () => {
    const { service, tickets } = cancellation({ outcome: 'NOT_FOUND' }, { ...row, id: PURCHASE, userId: 'buyer' });
    tickets.transferredSeatIds.mockResolvedValue([3]);
    await expect(service.cancel('someone-else', PURCHASE)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses the buyer when the script saw an accept under way (its Redis mark), refunding nothing', async () => {
    const { service, store, gateway, deadMarks } = cancellation({ outcome: 'TRANSFERRED', seatIds: [1] });
    await expect(service.cancel('buyer', PURCHASE)).rejects.toBeInstanceOf(PurchaseTransferredError);
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(deadMarks.takeBack).toHaveBeenCalledWith({ purchaseId: PURCHASE, seatIds: [1] });
    expect(store.cancel).toHaveBeenCalledTimes(1);
  });

  it('takes back the marks no accept can follow any more and asks again, once; a mark that may still be followed refuses', async () => {
    const { service, store, deadMarks, gateway } = cancellation([
      { outcome: 'TRANSFERRED', seatIds: [1, 2] },
      { outcome: 'TRANSFERRED', seatIds: [2] },
    ]);
    deadMarks.takeBack.mockResolvedValueOnce([1]);
    await expect(service.cancel('buyer', PURCHASE)).rejects.toMatchObject({ details: { seatIds: [2] } });
    expect(deadMarks.takeBack).toHaveBeenCalledTimes(1);
    expect(deadMarks.takeBack).toHaveBeenCalledWith({ purchaseId: PURCHASE, seatIds: [1, 2] });
    expect(store.cancel).toHaveBeenCalledTimes(2);
    expect(gateway.refund).not.toHaveBeenCalled();

    const dead = cancellation([{ outcome: 'TRANSFERRED', seatIds: [1] }, canceledNow()]);
    dead.deadMarks.takeBack.mockResolvedValueOnce([1]);
    await expect(dead.service.cancel('buyer', PURCHASE)).resolves.toMatchObject({ status: 'CANCELED' });
    expect(dead.store.cancel).toHaveBeenCalledTimes(2);
  });

  it("does not ask an operator's refund about transfers", async () => {
    const { service, tickets } = cancellation(canceledNow());
    tickets.transferredSeatIds.mockResolvedValue([3]);
    await service.cancelAsOperator('buyer', PURCHASE, 'operator', OPERATOR);
    expect(tickets.transferredSeatIds).not.toHaveBeenCalled();
  });

  it('records who canceled for the notice: an operator, or the bulk refund of a canceled performance', async () => {
    const result = canceledNow();
    const operator = cancellation(result);
    await operator.service.cancelAsOperator('buyer', PURCHASE, 'operator', OPERATOR);
    expect(operator.store.cancel).toHaveBeenCalledWith(7, PURCHASE, 'buyer', null, {
      mode: 'operator',
      canceledBy: 'operator',
      checkedIn: [],
      transferredSeatIds: [],
      operatorId: OPERATOR,
    });
    expect(operator.purchases.cancelWritten).toHaveBeenCalledWith(
      PURCHASE,
      new Date(2000),
      'operator',
      [],
      1500,
      OPERATOR,
    );
    const called = cancellation(result);
    await called.service.cancelForCanceledPerformance('buyer', PURCHASE);
    expect(called.store.cancel).toHaveBeenCalledWith(7, PURCHASE, 'buyer', null, {
      mode: 'operator-keep-checked-in',
      canceledBy: 'performance',
      checkedIn: [],
      transferredSeatIds: [],
    });
    expect(called.purchases.cancelWritten).toHaveBeenCalledWith(
      PURCHASE,
      new Date(2000),
      'performance',
      [],
      1500,
      null,
    );
    // The seats a cancel kept sold go with its write, for the buyer's notice.
    const keeping = cancellation(canceledNow({ keptSeatIds: [4005] }));
    await keeping.service.cancelAsOperator('buyer', PURCHASE, 'operator-keep-checked-in', OPERATOR);
    expect(keeping.purchases.cancelWritten).toHaveBeenCalledWith(
      PURCHASE,
      new Date(2000),
      'operator',
      [4005],
      1500,
      OPERATOR,
    );
  });

  it('tells an operator how to refund a checked-in purchase anyway', async () => {
    const { service } = cancellation({ outcome: 'CHECKED_IN', seatIds: [1, 2] });
    await expect(service.cancelAsOperator('buyer', PURCHASE, 'operator', OPERATOR)).rejects.toMatchObject({
      code: 'PurchaseCheckedIn',
      message: expect.stringContaining('2 tickets of it were checked in at the door; to refund it anyway'),
    });
  });

  it('answers 409 for a purchase canceled already, refunding nothing', async () => {
    const { service, gateway } = cancellation({ outcome: 'ALREADY_CANCELED' });
    await expect(service.cancel('buyer', PURCHASE)).rejects.toBeInstanceOf(PurchaseCanceledError);
    const persisted = cancellation({ outcome: 'NOT_FOUND' }, { ...row, status: PurchaseStatus.Canceled });
    await expect(persisted.service.cancel('buyer', OLD_PURCHASE)).rejects.toBeInstanceOf(PurchaseCanceledError);
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(persisted.gateway.refund).not.toHaveBeenCalled();
  });

  it("answers the buyer's repeated cancel as the first (a retry): the purchase CANCELED, nothing written or refunded again", async () => {
    const { service, gateway, purchases, attempts, store } = cancellation({ outcome: 'CANCELED_BY_BUYER' });
    await expect(service.cancel('buyer', PURCHASE)).resolves.toEqual({
      ...canceled,
      keptSeatIds: [],
      refund: 'earlier',
    });
    expect(purchases.cancelWritten).not.toHaveBeenCalled();
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.markRefunded).not.toHaveBeenCalled();
    expect(store.index).toHaveBeenCalledWith('buyer', 7, PURCHASE, 1000);
    // As durable as the first had to be: replicas that do not confirm it are a 503 again.
    const unconfirmed = cancellation({ outcome: 'CANCELED_BY_BUYER' }, null, { replicas: 1, acked: 0 });
    await expect(unconfirmed.service.cancel('buyer', PURCHASE)).rejects.toBeInstanceOf(CancellationNotReplicatedError);
  });

  it('does not find anyone else’s purchase, an unknown one, or a malformed id', async () => {
    const other = cancellation({ outcome: 'NOT_FOUND' }, row);
    await expect(other.service.cancel('thief', OLD_PURCHASE)).rejects.toBeInstanceOf(NotFoundError);
    expect(other.store.cancel).not.toHaveBeenCalled();
    const unknown = cancellation({ outcome: 'NOT_FOUND' });
    await expect(unknown.service.cancel('buyer', PURCHASE)).rejects.toBeInstanceOf(NotFoundError);
    await expect(unknown.service.cancel('buyer', 'p-1')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rebuilds a performance Redis lost, then cancels in it', async () => {
    const { service, store, rebuilder, gateway } = cancellation([{ outcome: 'NOT_REGISTERED' }, canceledNow()]);
    expect(await service.cancel('buyer', PURCHASE)).toMatchObject({ id: PURCHASE, status: 'CANCELED' });
    expect(rebuilder.ensure).toHaveBeenCalledWith(7);
    expect(store.cancel).toHaveBeenCalledTimes(2);
    expect(gateway.refund).toHaveBeenCalledWith(REFUND);
  });

  it('refunds nothing when the performance is lost again while canceling', async () => {
    const { service, gateway } = cancellation({ outcome: 'NOT_REGISTERED' });
    const lost = service.cancel('buyer', PURCHASE);
    await expect(lost).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(lost).rejects.toMatchObject({ cause: { message: expect.stringContaining('left Redis again') } });
    expect(gateway.refund).not.toHaveBeenCalled();
  });

  it('does not find a purchase whose performance PostgreSQL does not know either', async () => {
    const { service, rebuilder, gateway } = cancellation({ outcome: 'NOT_REGISTERED' });
    rebuilder.ensure.mockRejectedValue(new NotFoundError('performance'));
    await expect(service.cancel('buyer', PURCHASE)).rejects.toMatchObject({ message: 'purchase not found' });
    expect(gateway.refund).not.toHaveBeenCalled();
  });
});

describe('flushRetryAfterSeconds (Retry-After of a partial refund before its purchase is written)', () => {
  it.each([
    // age (ms, null: unknown), PURCHASE_FLUSH_AGE_SECONDS → seconds
    [0, 5, 6],
    [1_200, 5, 5],
    [4_999, 5, 2],
    // Overdue (the flusher behind, or `batch` down): the flush age, at least 1, at most 60.
    [5_000, 5, 5],
    [60_000, 5, 5],
    [0, 0, 1],
    [10_000, 0, 1],
    [20_000, 30, 11],
    [null, 30, 31],
    [31_000, 30, 30],
    [4_000_000, 3600, 60],
  ])('sold %s ms ago, flushed after %s s: %s s', (ageMs, flushAge, seconds) => {
    expect(flushRetryAfterSeconds(ageMs, flushAge)).toBe(seconds);
  });
});
