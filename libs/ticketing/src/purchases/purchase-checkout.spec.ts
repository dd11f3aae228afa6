import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { BegunPaymentAttempt, PaymentAttemptsRepository, PaymentAttemptStatus } from '@app/database';
import { ReplyError } from 'ioredis';
import { asStoreUnavailable } from '@app/redis';
import {
  ChargeOutcomeUnknownError,
  HoldExpiredError,
  HoldPurchasedError,
  HoldReleasedError,
  IdempotencyKeyInUseError,
  NotFoundError,
  PaymentDeclinedError,
  PurchaseCanceledError,
  PurchaseInProgressError,
  PurchaseNotReplicatedError,
  SalesClosedError,
  SalesNotOpenError,
  SeatsUnavailableError,
} from '../errors';
import { ClaimRenewals } from './claim-renewals';
import { PaymentGateway } from './payment-gateway';
import { PurchaseCheckout } from './purchase-checkout';
import type { PurchaseResult } from './purchase-scripts';
import { HoldCheck, PurchaseStore } from './purchase.store';

const NOW = 1_800_000_000_000;
const live: HoldCheck = {
  owner: 'buyer',
  status: 'HELD',
  expiresAt: String(NOW + 60_000),
  amount: '3000',
  currency: 'KRW',
  boughtBy: null,
  now: NOW,
  claim: 'CLAIMED',
  sales: null,
  boxOffice: null,
};
const sold: PurchaseResult = {
  outcome: 'OK',
  createdAt: NOW + 5,
  performanceId: 7,
  seats: '12,3',
  amount: 3000,
  currency: 'KRW',
  prices: '1000,2000',
  presale: '',
};

/** The refund of purchase-1's charge: the whole hold, keyed by the purchase. */
const REFUND = { chargeId: 'ch-1', idempotencyKey: 'refund:purchase-1', amount: 3000, currency: 'KRW' };

/** The checkout with faked store, gateway and attempts; each fake answers as a healthy system would. */
function checkout(
  sale: PurchaseResult = sold,
  begun = PaymentAttemptStatus.Pending,
  wait: { replicas: number; acked: number } = { replicas: 0, acked: 0 },
  gatewayTimeoutMs = 10_000,
) {
  const store = {
    sell: vi.fn(async (): Promise<PurchaseResult> => sale),
    read: vi.fn(async (): Promise<{ status: string } | null> => ({ status: 'PAID' })),
    unindex: vi.fn(async () => {}),
    releaseHoldClaim: vi.fn(async () => {}),
    renewHoldClaim: vi.fn(async (..._args: unknown[]) => true),
    replicated: vi.fn(async () => wait.acked),
    salesNode: vi.fn((_performanceId: number) => '127.0.0.1:7001'),
    // The store's own rule over the two fakes above.
    unreplicated: (...args: Parameters<PurchaseStore['unreplicated']>) =>
      PurchaseStore.prototype.unreplicated.apply(store as unknown as PurchaseStore, args),
  };
  const gateway = { charge: vi.fn(async () => ({ chargeId: 'ch-1' })), refund: vi.fn(async () => {}) };
  const attempts = {
    begin: vi.fn(async (): Promise<BegunPaymentAttempt> => ({ status: begun, otherToken: false })),
    markCharged: vi.fn(async () => true),
    resolve: vi.fn(async () => {}),
  };
  const env = {
    FAULT_CRASH_AFTER_CHARGE: false,
    REDIS_WAIT_REPLICAS: wait.replicas,
    REDIS_WAIT_TIMEOUT_MS: 250,
    PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS: gatewayTimeoutMs,
  } as Env;
  const service = new PurchaseCheckout(
    store as unknown as PurchaseStore,
    gateway as unknown as PaymentGateway,
    attempts as unknown as PaymentAttemptsRepository,
    env,
    new ClaimRenewals(),
  );
  return { service, store, gateway, attempts };
}

describe('PurchaseCheckout', () => {
  it('renews its claim on the hold while a charge slower than the lease is in flight, so no other attempt takes it', async () => {
    // Lease 2 × 100 ms, renewed every 40 ms; the charge answers only after two renewals.
    const { service, store, gateway } = checkout(sold, PaymentAttemptStatus.Pending, undefined, 100);
    let renewed!: () => void;
    const twice = new Promise<void>((resolve) => (renewed = resolve));
    store.renewHoldClaim.mockImplementation(async () => {
      if (store.renewHoldClaim.mock.calls.length >= 2) renewed();
      return true;
    });
    gateway.charge.mockImplementationOnce(async () => {
      await twice;
      return { chargeId: 'ch-1' };
    });
    expect((await service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).status).toBe('PAID');
    expect(store.renewHoldClaim).toHaveBeenCalledWith(7, 'hold-1', 'purchase-1', 200);
  }, 10_000);

  it('stops renewing the claim once the purchase is answered', async () => {
    vi.useFakeTimers();
    try {
      const { service, store } = checkout(sold, PaymentAttemptStatus.Pending, undefined, 100);
      await service.buy('buyer', 'hold-1', 7, 'purchase-1', live);
      vi.advanceTimersByTime(10_000);
      expect(store.renewHoldClaim).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });

  it('renews the claims of concurrent attempts from one timer, each within 1.5 renewal periods, until its attempt ends', async () => {
    vi.useFakeTimers();
    try {
      // Lease 2 × 100 ms, renewal period 40 ms: every attempt's claim is renewed by 60 ms after it was taken.
      const { service, store, gateway } = checkout(sold, PaymentAttemptStatus.Pending, undefined, 100);
      const charged: (() => void)[] = [];
      gateway.charge.mockImplementation(
        () => new Promise<{ chargeId: string }>((resolve) => charged.push(() => resolve({ chargeId: 'ch-1' }))),
      );
      const timersBefore = vi.getTimerCount();
      const first = service.buy('buyer', 'hold-1', 7, 'purchase-1', live);
      await vi.advanceTimersByTimeAsync(30);
      const second = service.buy('buyer', 'hold-2', 7, 'purchase-2', live);
      await vi.advanceTimersByTimeAsync(0);
      expect(charged).toHaveLength(2);
      // Two attempts in flight, one renewal timer.
      expect(vi.getTimerCount() - timersBefore).toBe(1);
      await vi.advanceTimersByTimeAsync(10); // 40 ms: purchase-1's claim is 40 ms old, purchase-2's 10 ms
      expect(store.renewHoldClaim.mock.calls).toEqual([[7, 'hold-1', 'purchase-1', 200]]);
      await vi.advanceTimersByTimeAsync(40); // 80 ms: both due (purchase-2's 50 ms old)
      expect(store.renewHoldClaim.mock.calls.slice(1)).toEqual([
        [7, 'hold-1', 'purchase-1', 200],
        [7, 'hold-2', 'purchase-2', 200],
      ]);
      charged[0]();
      expect((await first).status).toBe('PAID');
      await vi.advanceTimersByTimeAsync(40); // 120 ms: only purchase-2 is still charging
      expect(store.renewHoldClaim.mock.calls.slice(3)).toEqual([[7, 'hold-2', 'purchase-2', 200]]);
      charged[1]();
      expect((await second).status).toBe('PAID');
      // No attempt left: the timer is gone and nothing is renewed any more.
      expect(vi.getTimerCount()).toBe(timersBefore);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(store.renewHoldClaim).toHaveBeenCalledTimes(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops renewing a claim the store says is no longer the attempt's, and keeps renewing the others", async () => {
    vi.useFakeTimers();
    try {
      const { service, store, gateway } = checkout(sold, PaymentAttemptStatus.Pending, undefined, 100);
      store.renewHoldClaim.mockImplementation(async (...args: unknown[]) => args[2] !== 'purchase-1');
      const charged: (() => void)[] = [];
      gateway.charge.mockImplementation(
        () => new Promise<{ chargeId: string }>((resolve) => charged.push(() => resolve({ chargeId: 'ch-1' }))),
      );
      const first = service.buy('buyer', 'hold-1', 7, 'purchase-1', live);
      const second = service.buy('buyer', 'hold-2', 7, 'purchase-2', live);
      await vi.advanceTimersByTimeAsync(120);
      expect(store.renewHoldClaim.mock.calls.map((call) => call[2])).toEqual([
        'purchase-1',
        'purchase-2',
        'purchase-2',
        'purchase-2',
      ]);
      charged.forEach((charge) => charge());
      await Promise.all([first, second]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("sells a box office sale's hold (paid at the window) with no payment attempt and no charge", async () => {
    const { service, store, gateway, attempts } = checkout(sold);
    const purchase = await service.buy('staff', 'hold-1', 7, 'purchase-1', {
      ...live,
      owner: 'staff',
      boxOffice: 'CASH',
    });
    expect(purchase).toMatchObject({ status: 'PAID', amount: sold.outcome === 'OK' ? sold.amount : -1, chargeId: '' });
    expect(attempts.begin).not.toHaveBeenCalled();
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(store.sell).toHaveBeenCalledWith(
      7,
      expect.objectContaining({ purchaseId: 'purchase-1', chargeId: '' }),
      NOW,
    );
  });

  describe('a free hold (amount 0)', () => {
    const free: HoldCheck = { ...live, amount: '0' };
    const soldFree: PurchaseResult = { ...sold, amount: 0, prices: '0,0' };

    it('is sold with no payment attempt and no charge, and answered PAID without a charge id', async () => {
      const { service, store, gateway, attempts } = checkout(soldFree);
      const purchase = await service.buy('buyer', 'hold-1', 7, 'purchase-1', free);
      expect(purchase).toMatchObject({ status: 'PAID', amount: 0, chargeId: '' });
      expect(attempts.begin).not.toHaveBeenCalled();
      expect(attempts.markCharged).not.toHaveBeenCalled();
      expect(gateway.charge).not.toHaveBeenCalled();
      expect(store.sell).toHaveBeenCalledWith(
        7,
        expect.objectContaining({ purchaseId: 'purchase-1', chargeId: '' }),
        NOW,
      );
    });

    it('refunds nothing when its sale is refused, and takes its index entry and its claim back', async () => {
      const { service, store, gateway, attempts } = checkout({ outcome: 'EXPIRED' });
      await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', free)).rejects.toBeInstanceOf(HoldExpiredError);
      expect(gateway.refund).not.toHaveBeenCalled();
      expect(attempts.resolve).not.toHaveBeenCalled();
      expect(store.unindex).toHaveBeenCalledWith('buyer', 7, 'purchase-1');
      expect(store.releaseHoldClaim).toHaveBeenCalledWith(7, 'hold-1', 'purchase-1');
    });

    it('sells nothing once its request lost the Idempotency-Key claim', async () => {
      const { service, store } = checkout(soldFree);
      await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', free, async () => false)).rejects.toBeInstanceOf(
        IdempotencyKeyInUseError,
      );
      expect(store.sell).not.toHaveBeenCalled();
    });

    it('replays a same-key retry of the free purchase made already, and keeps its index entry when the replay is refused', async () => {
      const bought: HoldCheck = { ...free, status: 'PURCHASED', boughtBy: 'purchase-1' };
      const replay = checkout(soldFree);
      expect(await replay.service.buy('buyer', 'hold-1', 7, 'purchase-1', bought)).toMatchObject({ status: 'PAID' });
      const gone = checkout({ outcome: 'NOT_FOUND' });
      await expect(gone.service.buy('buyer', 'hold-1', 7, 'purchase-1', bought)).rejects.toBeInstanceOf(NotFoundError);
      expect(gone.store.unindex).not.toHaveBeenCalled();
      expect(gone.gateway.charge).not.toHaveBeenCalled();
    });
  });

  it('charges the hold, sells it with the pre-check time as index score, and answers the purchase', async () => {
    const { service, store, gateway, attempts } = checkout();
    const purchase = await service.buy('buyer', 'hold-1', 7, 'purchase-1', live);
    expect(attempts.begin).toHaveBeenCalledWith(
      expect.objectContaining({
        purchaseId: 'purchase-1',
        amount: 3000,
        currency: 'KRW',
        idempotencyKey: 'purchase-1',
      }),
    );
    expect(gateway.charge).toHaveBeenCalledTimes(1);
    expect(attempts.markCharged).toHaveBeenCalledWith('purchase-1', 'ch-1');
    expect(store.sell).toHaveBeenCalledWith(
      7,
      expect.objectContaining({ holdId: 'hold-1', userId: 'buyer', purchaseId: 'purchase-1', chargeId: 'ch-1' }),
      NOW,
    );
    expect(purchase).toEqual({
      id: 'purchase-1',
      reservationId: 'hold-1',
      userId: 'buyer',
      performanceId: 7,
      seatIds: [3, 12],
      seatPrices: [2000, 1000],
      amount: 3000,
      refundedSeatIds: [],
      refundedAmount: 0,
      currency: 'KRW',
      status: 'PAID',
      createdAt: new Date(NOW + 5),
      canceledAt: null,
      chargeId: 'ch-1',
    });
    // The attempt stays open for `batch`: nothing resolves it on the request's path.
    expect(attempts.resolve).not.toHaveBeenCalled();
    expect(store.releaseHoldClaim).not.toHaveBeenCalled();
  });

  it("answers a presale hold's purchase with its presale, as the sale's hash records it", async () => {
    const { service } = checkout({ ...sold, presale: '12' } as PurchaseResult);
    expect(await service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).toMatchObject({ presaleId: '12' });
  });

  it('refuses a hold another attempt has claimed before charging anything, leaving that claim alone', async () => {
    const { service, store, gateway, attempts } = checkout();
    const refused = service.buy('buyer', 'hold-1', 7, 'purchase-1', { ...live, claim: 'BUSY' });
    await expect(refused).rejects.toBeInstanceOf(PurchaseInProgressError);
    await expect(refused).rejects.toMatchObject({
      code: 'PurchaseInProgress',
      message: 'a purchase of this reservation is in progress',
      retryAfterSeconds: 1,
    });
    expect(attempts.begin).not.toHaveBeenCalled();
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(store.releaseHoldClaim).not.toHaveBeenCalled();
  });

  it.each([
    [{ reason: 'PAUSED' } as const, SalesClosedError, 'sales are paused for this performance'],
    [{ reason: 'CLOSED' } as const, SalesClosedError, 'sales are closed for this performance'],
    [{ reason: 'ENDED' } as const, SalesClosedError, 'sales have ended for this performance (salesCloseAt passed)'],
    [
      { reason: 'NOT_OPEN', salesOpenAt: NOW + 3_600_000 } as const,
      SalesNotOpenError,
      'sales open at 2027-01-15T09:00:00.000Z',
    ],
  ])(
    'refuses a performance that does not sell now (%o) before recording or charging anything',
    async (sales, kind, message) => {
      const { service, store, gateway, attempts } = checkout();
      const refused = service.buy('buyer', 'hold-1', 7, 'purchase-1', { ...live, claim: 'NONE', sales });
      await expect(refused, sales.reason).rejects.toBeInstanceOf(kind);
      await expect(refused, sales.reason).rejects.toMatchObject({ message });
      expect(attempts.begin, sales.reason).not.toHaveBeenCalled();
      expect(gateway.charge, sales.reason).not.toHaveBeenCalled();
      expect(store.sell, sales.reason).not.toHaveBeenCalled();
    },
  );

  it('refunds a sale refused because salesOpenAt moved later during the charge, answering 403 SalesNotOpen', async () => {
    const { service, gateway, attempts } = checkout({ outcome: 'SALES_NOT_OPEN', salesOpenAt: NOW + 60_000 });
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(SalesNotOpenError);
    expect(gateway.refund).toHaveBeenCalledWith(REFUND);
    expect(attempts.resolve).toHaveBeenCalledWith('purchase-1', PaymentAttemptStatus.Refunded);
  });

  it('refuses a same-key retry of its purchase canceled since, charging nothing', async () => {
    const { service, store, gateway, attempts } = checkout();
    store.read.mockResolvedValueOnce({ status: 'CANCELED' });
    const replay = { ...live, status: 'PURCHASED', boughtBy: 'purchase-1', claim: 'OWN' as const };
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', replay)).rejects.toBeInstanceOf(PurchaseCanceledError);
    expect(store.read).toHaveBeenCalledWith(7, 'purchase-1');
    expect(attempts.begin).not.toHaveBeenCalled();
    expect(gateway.charge).not.toHaveBeenCalled();
  });

  it('refuses, refunding nothing, a same-key retry whose purchase the sale finds canceled (a cancel racing the retry)', async () => {
    const { service, store, gateway, attempts } = checkout({ outcome: 'CANCELED' });
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(PurchaseCanceledError);
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.resolve).not.toHaveBeenCalled();
    expect(store.unindex).not.toHaveBeenCalled();
    expect(store.releaseHoldClaim).toHaveBeenCalledWith(7, 'hold-1', 'purchase-1');
  });

  it('never refunds the charge of a COMPLETED attempt (its purchase happened) when the replayed sale is refused', async () => {
    const { service, store, gateway, attempts } = checkout({ outcome: 'NOT_FOUND' }, PaymentAttemptStatus.Completed);
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(NotFoundError);
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.resolve).not.toHaveBeenCalled();
    expect(store.unindex).not.toHaveBeenCalled();
  });

  it('charges nothing once its Idempotency-Key claim lapsed (checked right before the charge)', async () => {
    const { service, store, gateway, attempts } = checkout();
    const stillClaimed = vi.fn(async () => false);
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live, stillClaimed)).rejects.toMatchObject({
      code: 'IdempotencyKeyInUse',
      message: expect.stringContaining('nothing was charged'),
    });
    expect(stillClaimed.mock.invocationCallOrder[0]).toBeGreaterThan(attempts.begin.mock.invocationCallOrder[0]);
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(store.sell).not.toHaveBeenCalled();
    // Shared with any same-key retry (same purchase id): left as they are.
    expect(attempts.resolve).not.toHaveBeenCalled();
    expect(store.releaseHoldClaim).not.toHaveBeenCalled();
  });

  it('charges and sells while its Idempotency-Key claim holds', async () => {
    const { service, gateway } = checkout();
    const stillClaimed = vi.fn(async () => true);
    expect((await service.buy('buyer', 'hold-1', 7, 'purchase-1', live, stillClaimed)).status).toBe('PAID');
    expect(stillClaimed.mock.invocationCallOrder[0]).toBeLessThan(gateway.charge.mock.invocationCallOrder[0]);
  });

  it('replays a same-key retry of its purchase, still paid', async () => {
    const { service, store } = checkout();
    const replay = { ...live, status: 'PURCHASED', boughtBy: 'purchase-1', claim: 'OWN' as const };
    expect((await service.buy('buyer', 'hold-1', 7, 'purchase-1', replay)).status).toBe('PAID');
    expect(store.read).toHaveBeenCalledWith(7, 'purchase-1');
  });

  it('buys on its own claim taken again (a same-key retry)', async () => {
    const { service, gateway } = checkout();
    expect((await service.buy('buyer', 'hold-1', 7, 'purchase-1', { ...live, claim: 'OWN' })).id).toBe('purchase-1');
    expect(gateway.charge).toHaveBeenCalledTimes(1);
  });

  it('refunds the charge when the sale finds another attempt’s live claim (its own lapsed meanwhile)', async () => {
    const { service, gateway, attempts } = checkout({ outcome: 'IN_PROGRESS' });
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(PurchaseInProgressError);
    expect(gateway.refund).toHaveBeenCalledWith(REFUND);
    expect(attempts.resolve).toHaveBeenCalledWith('purchase-1', PaymentAttemptStatus.Refunded);
  });

  it.each([
    ['someone else’s hold', { owner: 'other' }, NotFoundError],
    ['a hold bought by another purchase', { status: 'PURCHASED', boughtBy: 'purchase-0' }, HoldPurchasedError],
    ['an expired hold', { expiresAt: String(NOW) }, HoldExpiredError],
    ['a hold without its currency (older version)', { currency: null }, HoldExpiredError],
    ['a missing hold', { owner: null, status: null }, NotFoundError],
    ['a released hold', { status: 'RELEASED' }, HoldReleasedError],
  ])('refuses %s before charging', async (_name, change, error) => {
    const { service, gateway, attempts } = checkout();
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', { ...live, ...change })).rejects.toBeInstanceOf(error);
    expect(attempts.begin).not.toHaveBeenCalled();
    expect(gateway.charge).not.toHaveBeenCalled();
  });

  it('refunds the charge, resolves the attempt REFUNDED, drops the index entry and the claim when the sale is refused', async () => {
    const { service, store, gateway, attempts } = checkout({ outcome: 'UNAVAILABLE' });
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(SeatsUnavailableError);
    expect(gateway.refund).toHaveBeenCalledWith(REFUND);
    expect(attempts.resolve).toHaveBeenCalledWith('purchase-1', PaymentAttemptStatus.Refunded);
    expect(store.unindex).toHaveBeenCalledWith('buyer', 7, 'purchase-1');
    // The attempt is over: a retry (once sales reopen, say) is not refused as in progress.
    expect(store.releaseHoldClaim).toHaveBeenCalledWith(7, 'hold-1', 'purchase-1');
  });

  it('waits for no replica by default', async () => {
    const { service, store } = checkout();
    await service.buy('buyer', 'hold-1', 7, 'purchase-1', live);
    expect(store.replicated).not.toHaveBeenCalled();
  });

  it('answers the purchase once REDIS_WAIT_REPLICAS replicas have it', async () => {
    const { service, store } = checkout(sold, PaymentAttemptStatus.Pending, { replicas: 1, acked: 1 });
    expect((await service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).id).toBe('purchase-1');
    expect(store.replicated).toHaveBeenCalledWith(7, 1, 250);
  });

  it('refuses with PurchaseNotReplicatedError when too few replicas have the sale, keeping sale and charge', async () => {
    const { service, store, gateway, attempts } = checkout(sold, PaymentAttemptStatus.Pending, {
      replicas: 1,
      acked: 0,
    });
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(
      PurchaseNotReplicatedError,
    );
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.resolve).not.toHaveBeenCalled();
    expect(store.unindex).not.toHaveBeenCalled();
  });

  it('refuses with PurchaseNotReplicatedError when the WAIT ran on another node than the sale (a failover between them)', async () => {
    const { service, store, gateway, attempts } = checkout(sold, PaymentAttemptStatus.Pending, {
      replicas: 1,
      acked: 1,
    });
    // The sale was answered by 7001; the client's slot map named the promoted 7004 once the WAIT was.
    store.salesNode.mockReturnValueOnce('127.0.0.1:7001').mockReturnValueOnce('127.0.0.1:7004');
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(
      PurchaseNotReplicatedError,
    );
    expect(store.replicated).toHaveBeenCalledWith(7, 1, 250);
    expect(store.salesNode.mock.calls).toEqual([[7], [7]]);
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.resolve).not.toHaveBeenCalled();
  });

  it('refuses with PurchaseNotReplicatedError when the primary refuses writes (NOREPLICAS)', async () => {
    const { service, store, gateway } = checkout();
    // As the client raises it (libs/redis/src/unavailable.ts): a Redis outage, caused by the refusal.
    store.sell.mockRejectedValueOnce(
      asStoreUnavailable(new ReplyError('NOREPLICAS Not enough good replicas to write.')),
    );
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(
      PurchaseNotReplicatedError,
    );
    // `batch` refunds the charge unless a retry with the same key sells it (P9).
    expect(gateway.refund).not.toHaveBeenCalled();
  });

  it('charges with the hold id and the payment token, kept with the attempt', async () => {
    const { service, gateway, attempts } = checkout();
    await service.buy('buyer', 'hold-1', 7, 'purchase-1', live, undefined, 'pm_card_visa');
    const expected = { purchaseId: 'purchase-1', reservationId: 'hold-1', paymentToken: 'pm_card_visa' };
    expect(attempts.begin).toHaveBeenCalledWith(expect.objectContaining(expected));
    expect(gateway.charge).toHaveBeenCalledWith(expect.objectContaining({ ...expected, idempotencyKey: 'purchase-1' }));
    // None sent: null, never absent (the column and the gateway tell "none" apart from a token).
    const without = checkout();
    await without.service.buy('buyer', 'hold-1', 7, 'purchase-1', live);
    expect(without.gateway.charge).toHaveBeenCalledWith(expect.objectContaining({ paymentToken: null }));
  });

  it.each([
    [PaymentAttemptStatus.Declined, true],
    [PaymentAttemptStatus.Completed, true],
    [PaymentAttemptStatus.Pending, false],
    [PaymentAttemptStatus.Charged, false],
  ])(
    'never charges an attempt (%s) recorded with another payment token: 409, the hold claim dropped: %s',
    async (begun, dropped) => {
      const { service, store, gateway, attempts } = checkout();
      attempts.begin.mockResolvedValueOnce({ status: begun, otherToken: true });
      const refused = service.buy('buyer', 'hold-1', 7, 'purchase-1', live, undefined, 'pm_other');
      await expect(refused).rejects.toBeInstanceOf(IdempotencyKeyInUseError);
      await expect(refused).rejects.toThrow(/another paymentToken/);
      expect(gateway.charge).not.toHaveBeenCalled();
      expect(store.sell).not.toHaveBeenCalled();
      expect(attempts.resolve).not.toHaveBeenCalled();
      expect(store.releaseHoldClaim).toHaveBeenCalledTimes(dropped ? 1 : 0);
    },
  );

  it('never charges an attempt whose row the reconciler holds (begin answered busy): 409 PurchaseInProgress, the hold claim dropped', async () => {
    const { service, store, gateway, attempts } = checkout();
    attempts.begin.mockResolvedValueOnce({ status: PaymentAttemptStatus.Pending, otherToken: false, busy: true });
    const refused = service.buy('buyer', 'hold-1', 7, 'purchase-1', live);
    await expect(refused).rejects.toBeInstanceOf(PurchaseInProgressError);
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 1 });
    await expect(refused).rejects.toThrow('the payment of this request is being settled; retry in a moment');
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(store.sell).not.toHaveBeenCalled();
    expect(attempts.markCharged).not.toHaveBeenCalled();
    expect(store.releaseHoldClaim).toHaveBeenCalledTimes(1);
  });

  it('records a declined payment as DECLINED and sells nothing', async () => {
    const { service, store, gateway, attempts } = checkout();
    gateway.charge.mockRejectedValueOnce(new PaymentDeclinedError());
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(PaymentDeclinedError);
    expect(attempts.resolve).toHaveBeenCalledWith('purchase-1', PaymentAttemptStatus.Declined);
    expect(store.sell).not.toHaveBeenCalled();
    // The hold stays and is free to try again at once.
    expect(store.releaseHoldClaim).toHaveBeenCalledWith(7, 'hold-1', 'purchase-1');
  });

  it('keeps the claim when the gateway fails without a decline (the charge may have been taken), answering a 503 that keeps the cause', async () => {
    const { service, store, gateway } = checkout();
    const failure = new Error('gateway unreachable');
    gateway.charge.mockRejectedValueOnce(failure);
    const refusal = await service.buy('buyer', 'hold-1', 7, 'purchase-1', live).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ChargeOutcomeUnknownError);
    expect(refusal).toMatchObject({ kind: 'unavailable', retryAfterSeconds: 1, cause: failure });
    expect(store.releaseHoldClaim).not.toHaveBeenCalled();
  });

  it("keeps the buyer's payment token out of the 503's cause, which is logged", async () => {
    const { service, gateway } = checkout();
    const token = 'pm_1QxSecretCardToken';
    gateway.charge.mockRejectedValueOnce(new Error(`No such PaymentMethod: '${token}'`));
    const refusal = await service
      .buy('buyer', 'hold-1', 7, 'purchase-1', live, undefined, token)
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ChargeOutcomeUnknownError);
    const cause = (refusal as ChargeOutcomeUnknownError).cause as Error;
    expect(cause.message).toBe("No such PaymentMethod: '[paymentToken]'");
    expect(cause.stack).not.toContain(token);
  });

  it('drops the claim when the attempt cannot be recorded, and answers that error', async () => {
    const { service, store, gateway, attempts } = checkout();
    attempts.begin.mockRejectedValueOnce(new Error('database down'));
    store.releaseHoldClaim.mockRejectedValueOnce(new Error('redis down'));
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toThrow('database down');
    expect(store.releaseHoldClaim).toHaveBeenCalledWith(7, 'hold-1', 'purchase-1');
    expect(gateway.charge).not.toHaveBeenCalled();
  });

  it.each([PaymentAttemptStatus.Refunded, PaymentAttemptStatus.RefundOwed])(
    'never charges an attempt %s',
    async (begun) => {
      const { service, store, gateway } = checkout(sold, begun);
      await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(
        IdempotencyKeyInUseError,
      );
      expect(gateway.charge).not.toHaveBeenCalled();
      expect(store.releaseHoldClaim).toHaveBeenCalledWith(7, 'hold-1', 'purchase-1');
    },
  );

  it('sells nothing when the attempt was refunded while the charge was under way', async () => {
    const { service, store, attempts } = checkout();
    attempts.markCharged.mockResolvedValueOnce(false);
    await expect(service.buy('buyer', 'hold-1', 7, 'purchase-1', live)).rejects.toBeInstanceOf(
      IdempotencyKeyInUseError,
    );
    expect(store.sell).not.toHaveBeenCalled();
  });
});
