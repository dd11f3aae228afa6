import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import {
  ClaimedPaymentAttempt,
  PaymentAttemptsRepository,
  PaymentAttemptStatus,
  PurchaseRefundsRepository,
  PurchaseRepository,
  PurchaseStatus,
  RecheckedPaymentAttempt,
  TransactionRunner,
} from '@app/database';
import { PaymentGateway } from './payment-gateway';
import { PaymentReconciler } from './payment-reconciler';
import { PurchaseStore, SaleTrace } from './purchase.store';

const NOW = 1_000_000;

const attempt: ClaimedPaymentAttempt = {
  purchaseId: 'p1',
  reservationId: 'h1',
  userId: 'buyer',
  performanceId: 7,
  amount: 3000,
  currency: 'KRW',
  idempotencyKey: 'key-1',
  paymentToken: 'pm_card_visa',
  chargeId: 'ch_1',
  status: PaymentAttemptStatus.Charged,
  claimedAt: '2026-12-02 15:00:00.000001+00',
};

/** The refund of the attempt's charge: the whole amount, keyed by its purchase, not by the charge's key. */
const refundOf = (chargeId: string) => ({ chargeId, idempotencyKey: 'refund:p1', amount: 3000, currency: 'KRW' });

/** A trace of a hold still HELD for a minute and no purchase, with `changes` on top. */
function trace(changes: Omit<Partial<SaleTrace>, 'hold'> & { hold?: Partial<SaleTrace['hold']> } = {}): SaleTrace {
  const { hold, ...rest } = changes;
  return {
    hold: { status: 'HELD', boughtBy: null, expiresAt: NOW + 60_000, ...hold },
    purchaseInRedis: false,
    parked: false,
    canceled: false,
    now: NOW,
    ...rest,
  };
}

function reconciler(
  sale: SaleTrace,
  options: {
    open?: ClaimedPaymentAttempt | null;
    /** What `claimRecheck` answers (an attempt due its second look; none by default). */
    recheck?: RecheckedPaymentAttempt | null;
    recheckLock?: 'locked' | 'changed' | 'busy';
    inPostgres?: PurchaseStatus;
    lock?: 'locked' | 'changed' | 'busy';
    /** `refundedAmount` of the purchase's Redis record (its partial refunds as Redis lists them). */
    refundedInRedis?: number;
  } = {},
) {
  const store = {
    saleTrace: vi.fn(async () => sale),
    refundedInRedis: vi.fn(async () => options.refundedInRedis ?? 0),
  };
  const manager = {};
  const attempts = {
    claimStale: vi.fn(async () => (options.open === undefined ? attempt : options.open)),
    lockClaimed: vi.fn(async () => options.lock ?? 'locked'),
    resolve: vi.fn(async () => true),
    claimRecheck: vi.fn(async () => options.recheck ?? null),
    lockRecheck: vi.fn(async () => options.recheckLock ?? 'locked'),
    endRecheck: vi.fn(async () => undefined),
    writeRefundNotice: vi.fn(async () => undefined),
  };
  const purchases = {
    findById: vi.fn(async () => (options.inPostgres ? { id: attempt.purchaseId, status: options.inPostgres } : null)),
  };
  const transactions = { run: vi.fn(async (work: (m: unknown) => Promise<unknown>) => work(manager)) };
  const gateway = {
    charge: vi.fn(async (request: { idempotencyKey: string }) => ({ chargeId: `ch_${request.idempotencyKey}` })),
    findCharge: vi.fn(async (lookup: { idempotencyKey: string }): Promise<{ chargeId: string } | null> => ({
      chargeId: `ch_${lookup.idempotencyKey}`,
    })),
    refund: vi.fn(async () => undefined),
  };
  const partialRefunds = { claimOwed: vi.fn(async () => null), refundedAmount: vi.fn(async () => 0) };
  const env = {
    PAYMENT_RECONCILE_AFTER_SECONDS: 30,
    PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS: 5000,
    PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS: 1200,
  } as Env;
  const subject = new PaymentReconciler(
    store as unknown as PurchaseStore,
    env,
    gateway as unknown as PaymentGateway,
    attempts as unknown as PaymentAttemptsRepository,
    purchases as unknown as PurchaseRepository,
    transactions as unknown as TransactionRunner,
    partialRefunds as unknown as PurchaseRefundsRepository,
  );
  return { subject, store, attempts, purchases, transactions, gateway, env, manager, partialRefunds };
}

describe('PaymentReconciler', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('counts every outcome from 0 at the start, so the first one counted is an increase', async () => {
    const { subject } = reconciler(trace());
    const values = (await subject.reconciled.get()).values;
    expect(values.map(({ labels }) => labels.outcome).sort()).toEqual([
      'completed',
      'contended',
      'deferred',
      'failed',
      'recheck_refunded',
      'recheck_uncharged',
      'refunded',
      'superseded',
      'uncharged',
    ]);
    expect(values.every(({ value }) => value === 0)).toBe(true);
  });

  it('claims only attempts open for PAYMENT_RECONCILE_AFTER_SECONDS, and reads nothing when none is', async () => {
    const { subject, attempts, store } = reconciler(trace(), { open: null });
    expect(await subject.reconcileOnce()).toBeNull();
    expect(attempts.claimStale).toHaveBeenCalledWith(30_000);
    expect(store.saleTrace).not.toHaveBeenCalled();
  });

  it('reads the sale of the attempt: its performance, hold and purchase', async () => {
    const { subject, store } = reconciler(trace());
    await subject.reconcileOnce();
    expect(store.saleTrace).toHaveBeenCalledWith(7, 'h1', 'p1');
  });

  it.each([
    ['its hold bought by this purchase', trace({ hold: { status: 'PURCHASED', boughtBy: 'p1' } }), undefined],
    ['its purchase in Redis', trace({ hold: { status: null, expiresAt: null }, purchaseInRedis: true }), undefined],
    ['its purchase in PostgreSQL only', trace({ hold: { status: null, expiresAt: null } }), PurchaseStatus.Paid],
  ])('marks COMPLETED, with no gateway call, an attempt with %s', async (_, sale, inPostgres) => {
    const { subject, attempts, gateway, manager } = reconciler(sale, { inPostgres });
    expect(await subject.reconcileOnce()).toBe('completed');
    expect(attempts.resolve).toHaveBeenCalledWith('p1', PaymentAttemptStatus.Completed, null, manager, null);
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(gateway.refund).not.toHaveBeenCalled();
  });

  it('leaves open, with no transaction, an attempt whose hold is HELD and unexpired by Redis time', async () => {
    const { subject, transactions, gateway, attempts } = reconciler(trace());
    expect(await subject.reconcileOnce()).toBe('deferred');
    expect(transactions.run).not.toHaveBeenCalled();
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.resolve).not.toHaveBeenCalled();
    expect(subject.settled.deferred).toBe(1);
  });

  it.each([
    ['expired by Redis time', trace({ hold: { expiresAt: NOW } })],
    ['released', trace({ hold: { status: 'RELEASED' } })],
    ['gone', trace({ hold: { status: null, expiresAt: null } })],
    ['bought by another purchase', trace({ hold: { status: 'PURCHASED', boughtBy: 'p2' } })],
    [
      'bought by it, but the purchase parked by the flusher',
      trace({ hold: { status: 'PURCHASED', boughtBy: 'p1' }, purchaseInRedis: true, parked: true }),
    ],
  ])('refunds the charge of an attempt whose hold is %s', async (_, sale) => {
    const { subject, attempts, gateway, manager } = reconciler(sale);
    expect(await subject.reconcileOnce()).toBe('refunded');
    expect(gateway.refund).toHaveBeenCalledWith(refundOf('ch_1'));
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(attempts.resolve).toHaveBeenCalledWith('p1', PaymentAttemptStatus.Refunded, 'ch_1', manager, null);
    // The buyer is told, in the same transaction (ops trial O5).
    expect(attempts.writeRefundNotice).toHaveBeenCalledWith(manager, 'p1', 3000, 'payment.refunded');
  });

  it.each([PurchaseStatus.Paid, undefined])(
    'leaves open an attempt whose purchase is canceled in Redis only (in PostgreSQL: %s), refunding nothing',
    async (inPostgres) => {
      const { subject, attempts, gateway, transactions } = reconciler(
        trace({ hold: { status: 'PURCHASED', boughtBy: 'p1' }, purchaseInRedis: true, canceled: true }),
        { inPostgres },
      );
      expect(await subject.reconcileOnce()).toBe('deferred');
      expect(transactions.run).not.toHaveBeenCalled();
      expect(gateway.refund).not.toHaveBeenCalled();
      expect(attempts.resolve).not.toHaveBeenCalled();
    },
  );

  it.each([
    [
      'canceled in Redis and in PostgreSQL',
      trace({ hold: { status: 'PURCHASED', boughtBy: 'p1' }, purchaseInRedis: true, canceled: true }),
      PurchaseStatus.Canceled,
    ],
    [
      'canceled in PostgreSQL (gone from Redis)',
      trace({ hold: { status: 'PURCHASED', boughtBy: 'p1' } }),
      PurchaseStatus.Canceled,
    ],
  ])('refunds the charge of an open attempt whose purchase was %s', async (_, sale, inPostgres) => {
    const { subject, attempts, gateway, manager } = reconciler(sale, { inPostgres });
    expect(await subject.reconcileOnce()).toBe('refunded');
    expect(gateway.refund).toHaveBeenCalledWith(refundOf('ch_1'));
    expect(attempts.resolve).toHaveBeenCalledWith('p1', PaymentAttemptStatus.Refunded, 'ch_1', manager, null);
    // A cancellation's refund: the buyer canceled, no refund notice.
    expect(attempts.writeRefundNotice).not.toHaveBeenCalled();
  });

  it('refunds a REFUND_OWED attempt (its purchase canceled, the api refund unrecorded) without reading the sale', async () => {
    const { subject, attempts, gateway, store, manager } = reconciler(trace(), {
      open: { ...attempt, status: PaymentAttemptStatus.RefundOwed },
    });
    expect(await subject.reconcileOnce()).toBe('refunded');
    expect(store.saleTrace).not.toHaveBeenCalled();
    expect(gateway.refund).toHaveBeenCalledWith(refundOf('ch_1'));
    expect(attempts.resolve).toHaveBeenCalledWith('p1', PaymentAttemptStatus.Refunded, 'ch_1', manager, null);
    expect(attempts.writeRefundNotice).not.toHaveBeenCalled();
  });

  it('leaves a canceled purchase’s refund open while Redis lists partial refunds PostgreSQL does not have yet', async () => {
    const open = { ...attempt, status: PaymentAttemptStatus.RefundOwed as const };
    const early = reconciler(trace(), { open, refundedInRedis: 40 });
    expect(await early.subject.reconcileOnce()).toBe('deferred');
    expect(early.gateway.refund).not.toHaveBeenCalled();
    expect(early.attempts.resolve).not.toHaveBeenCalled();
    // Once PostgreSQL has them: the rest of the charge.
    const written = reconciler(trace(), { open, refundedInRedis: 40 });
    written.partialRefunds.refundedAmount.mockResolvedValue(40);
    expect(await written.subject.reconcileOnce()).toBe('refunded');
    expect(written.gateway.refund).toHaveBeenCalledWith({ ...refundOf('ch_1'), amount: attempt.amount - 40 });
  });

  it('settles an attempt of 0 (a free purchase an older version charged) REFUNDED with no gateway call', async () => {
    const owed = reconciler(trace(), { open: { ...attempt, amount: 0, status: PaymentAttemptStatus.RefundOwed } });
    expect(await owed.subject.reconcileOnce()).toBe('refunded');
    expect(owed.attempts.resolve).toHaveBeenCalledWith('p1', PaymentAttemptStatus.Refunded, 'ch_1', owed.manager, null);
    const died = reconciler(trace({ hold: { status: null, expiresAt: null } }), {
      open: { ...attempt, amount: 0, chargeId: null, status: PaymentAttemptStatus.Pending },
    });
    expect(await died.subject.reconcileOnce()).toBe('refunded');
    for (const { gateway } of [owed, died]) {
      expect(gateway.charge).not.toHaveBeenCalled();
      expect(gateway.findCharge).not.toHaveBeenCalled();
      expect(gateway.refund).not.toHaveBeenCalled();
    }
  });

  it('looks up, never charges, the charge of an attempt with no charge id under its key, then refunds that charge', async () => {
    const { subject, attempts, gateway, manager } = reconciler(trace({ hold: { status: null, expiresAt: null } }), {
      open: { ...attempt, chargeId: null, status: PaymentAttemptStatus.Pending },
    });
    expect(await subject.reconcileOnce()).toBe('refunded');
    // The attempt's fields, without the buyer's token: a lookup needs no secret.
    expect(gateway.findCharge).toHaveBeenCalledWith({
      purchaseId: 'p1',
      reservationId: 'h1',
      idempotencyKey: 'key-1',
      userId: 'buyer',
      amount: 3000,
      currency: 'KRW',
    });
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(gateway.refund).toHaveBeenCalledWith(refundOf('ch_key-1'));
    expect(attempts.resolve).toHaveBeenCalledWith('p1', PaymentAttemptStatus.Refunded, 'ch_key-1', manager, null);
  });

  it('marks DECLINED (uncharged), with no charge and no refund, an attempt whose key the gateway holds no charge under', async () => {
    const { subject, attempts, gateway, manager } = reconciler(trace({ hold: { status: null, expiresAt: null } }), {
      open: { ...attempt, chargeId: null, status: PaymentAttemptStatus.Pending },
    });
    gateway.findCharge.mockResolvedValue(null);
    expect(await subject.reconcileOnce()).toBe('uncharged');
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(gateway.refund).not.toHaveBeenCalled();
    // Looked up once more PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS later.
    expect(attempts.resolve).toHaveBeenCalledWith('p1', PaymentAttemptStatus.Declined, null, manager, 1_200_000);
    expect(subject.settled.uncharged).toBe(1);
    expect((await subject.reconciled.get()).values).toContainEqual({ labels: { outcome: 'uncharged' }, value: 1 });
  });

  describe('the second look at a key found with no charge', () => {
    const due: RecheckedPaymentAttempt = {
      ...attempt,
      chargeId: null,
      paymentToken: null,
      status: PaymentAttemptStatus.Declined,
    };
    const nothingOpen = { open: null, recheck: due };

    it('is made only when nothing else is due, claimed to be due again PAYMENT_RECONCILE_AFTER_SECONDS later if it fails', async () => {
      const { subject, attempts } = reconciler(trace(), { open: null });
      expect(await subject.reconcileOnce()).toBeNull();
      expect(attempts.claimRecheck).toHaveBeenCalledWith(30_000);
      const busy = reconciler(trace(), { recheck: due });
      await busy.subject.reconcileOnce();
      expect(busy.attempts.claimRecheck).not.toHaveBeenCalled();
    });

    it('refunds a charge landed since with the purchase’s refund key, and marks it REFUNDED (recheck_refunded)', async () => {
      const { subject, attempts, gateway, manager } = reconciler(trace(), nothingOpen);
      expect(await subject.reconcileOnce()).toBe('recheck_refunded');
      expect(gateway.findCharge).toHaveBeenCalledWith(
        expect.objectContaining({ purchaseId: 'p1', idempotencyKey: 'key-1' }),
      );
      expect(gateway.charge).not.toHaveBeenCalled();
      expect(gateway.refund).toHaveBeenCalledWith(refundOf('ch_key-1'));
      expect(attempts.endRecheck).toHaveBeenCalledWith(manager, 'p1', 'ch_key-1');
      expect(attempts.writeRefundNotice).toHaveBeenCalledWith(manager, 'p1', 3000, 'payment.refunded');
      expect((await subject.reconciled.get()).values).toContainEqual({
        labels: { outcome: 'recheck_refunded' },
        value: 1,
      });
    });

    it('ends the look with nothing refunded when there is still no charge (recheck_uncharged)', async () => {
      const { subject, attempts, gateway, manager } = reconciler(trace(), nothingOpen);
      gateway.findCharge.mockResolvedValue(null);
      expect(await subject.reconcileOnce()).toBe('recheck_uncharged');
      expect(gateway.refund).not.toHaveBeenCalled();
      expect(gateway.charge).not.toHaveBeenCalled();
      expect(attempts.endRecheck).toHaveBeenCalledWith(manager, 'p1', null);
      expect(subject.settled.recheck_uncharged).toBe(1);
    });

    it.each([
      ['changed', 'superseded'],
      ['busy', 'contended'],
    ] as const)('asks nothing when the row is %s since the claim (%s)', async (lock, outcome) => {
      const { subject, attempts, gateway } = reconciler(trace(), { ...nothingOpen, recheckLock: lock });
      expect(await subject.reconcileOnce()).toBe(outcome);
      expect(gateway.findCharge).not.toHaveBeenCalled();
      expect(gateway.refund).not.toHaveBeenCalled();
      expect(attempts.endRecheck).not.toHaveBeenCalled();
    });

    it('fails the pass, recording nothing, when the refund fails', async () => {
      const { subject, attempts, gateway } = reconciler(trace(), nothingOpen);
      gateway.refund.mockRejectedValue(new Error('the processor is unreachable'));
      await expect(subject.reconcileOnce()).rejects.toThrow('the processor is unreachable');
      expect(attempts.endRecheck).not.toHaveBeenCalled();
      expect((await subject.reconciled.get()).values).toContainEqual({ labels: { outcome: 'failed' }, value: 1 });
    });
  });

  it.each([
    ['fails', () => Promise.reject(new Error('connect ECONNREFUSED'))],
    ['goes unanswered past its bound', () => new Promise<never>(() => undefined)],
  ])('fails the pass, charging and resolving nothing, when the charge lookup %s', async (_, lookup) => {
    const { subject, attempts, gateway, env } = reconciler(trace({ hold: { status: null, expiresAt: null } }), {
      open: { ...attempt, chargeId: null, status: PaymentAttemptStatus.Pending },
    });
    env.PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS = 1;
    gateway.findCharge.mockImplementation(lookup);
    await expect(subject.reconcileOnce()).rejects.toThrow(
      /ECONNREFUSED|payment gateway findCharge unanswered after 1 ms/,
    );
    expect(gateway.charge).not.toHaveBeenCalled();
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.resolve).not.toHaveBeenCalled();
    expect((await subject.reconciled.get()).values).toContainEqual({ labels: { outcome: 'failed' }, value: 1 });
  });

  it.each([
    ['changed', 'superseded'],
    ['busy', 'contended'],
  ] as const)('settles nothing when the row is %s since the claim (%s)', async (lock, outcome) => {
    const { subject, attempts, gateway } = reconciler(trace({ hold: { status: null, expiresAt: null } }), { lock });
    expect(await subject.reconcileOnce()).toBe(outcome);
    expect(gateway.refund).not.toHaveBeenCalled();
    expect(attempts.resolve).not.toHaveBeenCalled();
    expect(subject.settled[outcome]).toBe(1);
    expect((await subject.reconciled.get()).values).toContainEqual({ labels: { outcome }, value: 1 });
    expect((await subject.reconciled.get()).values.filter(({ value }) => value > 0)).toHaveLength(1);
  });

  it('fails the pass, resolving nothing, when the refund goes unanswered past its bound', async () => {
    const { subject, attempts, gateway, env } = reconciler(trace({ hold: { status: null, expiresAt: null } }));
    env.PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS = 1;
    gateway.refund.mockReturnValue(new Promise<undefined>(() => undefined));
    await expect(subject.reconcileOnce()).rejects.toThrow('payment gateway refund unanswered after 1 ms');
    expect(attempts.resolve).not.toHaveBeenCalled();
    expect((await subject.reconciled.get()).values).toContainEqual({ labels: { outcome: 'failed' }, value: 1 });
    expect((await subject.reconciled.get()).values.filter(({ value }) => value > 0)).toHaveLength(1);
  });
});
