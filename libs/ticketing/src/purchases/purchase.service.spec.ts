import { afterEach, describe, expect, it, vi } from 'vitest';
import { Env } from '@app/config';
import { ReplyError } from 'ioredis';
import {
  IdempotencyKeyInUseError,
  InvalidInputError,
  NotFoundError,
  PaymentDeclinedError,
  PurchaseNotReplicatedError,
} from '../errors';
import { newIdOf, performanceOfId } from '../ids';
import {
  digestOfPaymentToken,
  IDEMPOTENCY_ANSWER_TTL_SECONDS,
  IDEMPOTENCY_RETRY_AFTER_SECONDS,
  purchaseIdFor,
} from './idempotency';
import { IdempotencyStore } from './idempotency.store';
import { ClaimRenewals } from './claim-renewals';
import type { Purchase } from './purchase';
import { PurchaseCheckout } from './purchase-checkout';
import type { ClaimIdempotencyKeyResult } from './purchase-scripts';
import { HoldCheck, PurchaseStore } from './purchase.store';
import { PurchaseService } from './purchase.service';

const USER = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const HOLD = newIdOf(7);
const hold: HoldCheck = {
  owner: USER,
  status: 'HELD',
  expiresAt: '2000',
  amount: '10',
  currency: 'KRW',
  boughtBy: null,
  now: 1000,
  claim: 'CLAIMED',
  sales: null,
  boxOffice: null,
};
const bought = (id: string): Purchase => ({
  id,
  reservationId: HOLD,
  userId: USER,
  performanceId: 7,
  seatIds: [1],
  amount: 10,
  currency: 'KRW',
  status: 'PAID',
  createdAt: new Date(1000),
  canceledAt: null,
  chargeId: 'ch-1',
  refundedSeatIds: [],
  refundedAmount: 0,
});

/** Lease of a claim in these tests (ms): not the default, so a test sees it is the setting's. */
const LEASE_MS = 2_000;

/** The gateway bound in these tests (ms): a hold claim lasts twice that. */
const GATEWAY_TIMEOUT_MS = 3_000;

/**
 * The service with faked stores and checkout; `claimed` is what the claim script answers, `renewals`
 * the process's claim timer (shared with the checkout's hold claims).
 */
function service(claimed: ClaimIdempotencyKeyResult = { outcome: 'CLAIMED' }, renewals = new ClaimRenewals()) {
  const store = {
    performanceOfHold: vi.fn(async (id: string) => performanceOfId(id)),
    claimHold: vi.fn(async (_p: number, _h: string, _r: object): Promise<HoldCheck> => hold),
    releaseHoldClaim: vi.fn(async () => {}),
  };
  const keys = {
    recordOf: vi.fn(() => 'record'),
    claim: vi.fn(async () => claimed),
    renew: vi.fn(async () => true),
    release: vi.fn(async () => true),
    answer: vi.fn(async () => {}),
  };
  const checkout = {
    buy: vi.fn(
      async (
        _u: string,
        _h: string,
        _p: number,
        id: string,
        _hold?: HoldCheck,
        _stillClaimed?: () => Promise<boolean>,
      ) => bought(id),
    ),
  };
  return {
    purchases: new PurchaseService(
      store as unknown as PurchaseStore,
      keys as unknown as IdempotencyStore,
      checkout as unknown as PurchaseCheckout,
      { IDEMPOTENCY_CLAIM_LEASE_MS: LEASE_MS, PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS: GATEWAY_TIMEOUT_MS } as Env,
      renewals,
    ),
    store,
    keys,
    checkout,
  };
}

afterEach(() => vi.useRealTimers());

describe('PurchaseService', () => {
  it('buys without a key under a fresh purchase id of the hold’s performance', async () => {
    const { purchases, checkout, keys, store } = service();
    const purchase = await purchases.purchase(USER, HOLD);
    expect(performanceOfId(purchase.id)).toBe(7);
    // The pre-check claimed the hold for this attempt, for twice the gateway's bound.
    expect(store.claimHold).toHaveBeenCalledWith(7, HOLD, {
      userId: USER,
      purchaseId: purchase.id,
      leaseMs: 2 * GATEWAY_TIMEOUT_MS,
      operator: false,
    });
    expect(checkout.buy).toHaveBeenCalledWith(USER, HOLD, 7, purchase.id, hold, undefined, null);
    expect(keys.claim).not.toHaveBeenCalled();
  });

  it("buys an operator's hold (a comp's, a box office sale's) on the operator path only (purchaseOperatorHold), without a key", async () => {
    const { purchases, checkout, keys, store } = service();
    const purchase = await purchases.purchaseOperatorHold(USER, HOLD);
    expect(performanceOfId(purchase.id)).toBe(7);
    expect(store.claimHold).toHaveBeenCalledWith(7, HOLD, {
      userId: USER,
      purchaseId: purchase.id,
      leaseMs: 2 * GATEWAY_TIMEOUT_MS,
      operator: true,
    });
    expect(checkout.buy).toHaveBeenCalledWith(USER, HOLD, 7, purchase.id, hold);
    expect(keys.claim).not.toHaveBeenCalled();
    await expect(purchases.purchaseOperatorHold(USER, 'not-a-hold')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a hold id that names no performance, and a malformed key, before any work', async () => {
    const { purchases, checkout } = service();
    await expect(purchases.purchase(USER, 'not-a-hold')).rejects.toBeInstanceOf(NotFoundError);
    await expect(purchases.purchase(USER, HOLD, '')).rejects.toBeInstanceOf(InvalidInputError);
    expect(checkout.buy).not.toHaveBeenCalled();
  });

  it('with a key: claims it, buys under the id of user, key and hold, and stores the answer', async () => {
    const { purchases, keys, checkout, store } = service();
    const purchase = await purchases.purchase(USER, HOLD, 'key-1');
    expect(purchase.id).toBe(purchaseIdFor(USER, 'key-1', HOLD, 7));
    expect(keys.recordOf).toHaveBeenCalledWith(USER, 'key-1');
    expect(checkout.buy).toHaveBeenCalledTimes(1);
    expect(keys.answer).toHaveBeenCalledWith('record', purchase, null, IDEMPOTENCY_ANSWER_TTL_SECONDS);
    expect(keys.release).not.toHaveBeenCalled();
    // The hold is claimed under the same id, so a retry with the key is the same attempt.
    expect(store.claimHold).toHaveBeenCalledWith(7, HOLD, expect.objectContaining({ purchaseId: purchase.id }));
  });

  it('turns a primary refusing writes for lack of replicas at the pre-check into a 503 before any charge', async () => {
    const { purchases, store, checkout } = service();
    store.claimHold.mockRejectedValueOnce(new ReplyError('NOREPLICAS Not enough good replicas to write.'));
    await expect(purchases.purchase(USER, HOLD)).rejects.toBeInstanceOf(PurchaseNotReplicatedError);
    expect(checkout.buy).not.toHaveBeenCalled();
  });

  it('leaves the hold claim alone when the key is busy: it may be the live request’s for this hold (same purchase id)', async () => {
    // Taken afresh here ('CLAIMED') while the request holding the key had not claimed the hold yet.
    const { purchases, store } = service({ outcome: 'TAKEN', record: 'pending:other' });
    await expect(purchases.purchase(USER, HOLD, 'key-1')).rejects.toBeInstanceOf(IdempotencyKeyInUseError);
    expect(store.releaseHoldClaim).not.toHaveBeenCalled();
  });

  it('drops a hold claim it took afresh when the key was answered for another hold', async () => {
    const stored = { ...bought('0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f'), reservationId: newIdOf(7) };
    const { purchases, store } = service({ outcome: 'TAKEN', record: JSON.stringify(stored) });
    await expect(purchases.purchase(USER, HOLD, 'key-1')).rejects.toThrow(/another reservation/);
    expect(store.releaseHoldClaim).toHaveBeenCalledWith(7, HOLD, purchaseIdFor(USER, 'key-1', HOLD, 7));
  });

  it('answers 409 with Retry-After at once while another request holds the claim', async () => {
    const { purchases, checkout } = service({ outcome: 'TAKEN', record: 'pending:other' });
    const refused = purchases.purchase(USER, HOLD, 'key-1');
    await expect(refused).rejects.toBeInstanceOf(IdempotencyKeyInUseError);
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: IDEMPOTENCY_RETRY_AFTER_SECONDS });
    expect(checkout.buy).not.toHaveBeenCalled();
  });

  it('returns the stored answer for the same hold, with its times as dates', async () => {
    const stored = bought('0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f');
    const { purchases, checkout } = service({ outcome: 'TAKEN', record: JSON.stringify(stored) });
    expect(await purchases.purchase(USER, HOLD, 'key-1')).toEqual(stored);
    expect(checkout.buy).not.toHaveBeenCalled();
  });

  it('passes the payment token on to the buy, and keeps only its digest with the answer', async () => {
    const { purchases, keys, checkout } = service();
    const purchase = await purchases.purchase(USER, HOLD, 'key-1', 'pm_card_visa');
    expect(checkout.buy).toHaveBeenCalledWith(USER, HOLD, 7, purchase.id, hold, expect.any(Function), 'pm_card_visa');
    expect(keys.answer).toHaveBeenCalledWith(
      'record',
      purchase,
      digestOfPaymentToken('pm_card_visa'),
      IDEMPOTENCY_ANSWER_TTL_SECONDS,
    );
    expect(JSON.stringify(keys.answer.mock.calls)).not.toContain('pm_card_visa');
    const other = service();
    await other.purchases.purchase(USER, HOLD, undefined, 'pm_card_visa');
    expect(other.checkout.buy).toHaveBeenCalledWith(USER, HOLD, 7, expect.any(String), hold, undefined, 'pm_card_visa');
  });

  it('replays the stored answer to the same token, and refuses another token (or none) as a key reused', async () => {
    const stored = {
      ...bought('0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f'),
      paymentTokenDigest: digestOfPaymentToken('pm_1'),
    };
    const { paymentTokenDigest: _, ...purchase } = stored;
    const { purchases, checkout } = service({ outcome: 'TAKEN', record: JSON.stringify(stored) });
    expect(await purchases.purchase(USER, HOLD, 'key-1', 'pm_1')).toEqual(purchase);
    for (const token of ['pm_2', null]) {
      await expect(purchases.purchase(USER, HOLD, 'key-1', token)).rejects.toMatchObject({
        code: 'IdempotencyKeyInUse',
        message: expect.stringMatching(/another paymentToken/),
      });
    }
    expect(checkout.buy).not.toHaveBeenCalled();
    // An answer stored without a digest (none sent, or before tokens were kept) is a request without one.
    const { paymentTokenDigest: __, ...old } = stored;
    const before = service({ outcome: 'TAKEN', record: JSON.stringify(old) });
    expect(await before.purchases.purchase(USER, HOLD, 'key-1')).toEqual(purchase);
    await expect(before.purchases.purchase(USER, HOLD, 'key-1', 'pm_1')).rejects.toThrow(/another paymentToken/);
  });

  it('refuses a malformed payment token before any work, never quoting it', async () => {
    const { purchases, checkout, store } = service();
    for (const token of ['', 'a b', 'x'.repeat(501), 'caf\u00e9', 42 as unknown as string]) {
      const refused = purchases.purchase(USER, HOLD, 'key-1', token);
      await expect(refused).rejects.toBeInstanceOf(InvalidInputError);
      await expect(refused).rejects.toThrow('paymentToken must be 1-500 printable ASCII characters without spaces');
    }
    expect(store.claimHold).not.toHaveBeenCalled();
    expect(checkout.buy).not.toHaveBeenCalled();
  });

  it('refuses a key already used for another hold', async () => {
    const stored = { ...bought('0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f'), reservationId: newIdOf(7) };
    const { purchases } = service({ outcome: 'TAKEN', record: JSON.stringify(stored) });
    await expect(purchases.purchase(USER, HOLD, 'key-1')).rejects.toThrow(/another reservation/);
  });

  it('drops its claim when the buy fails, so a retry runs again', async () => {
    const { purchases, keys, checkout } = service();
    checkout.buy.mockRejectedValueOnce(new PaymentDeclinedError());
    await expect(purchases.purchase(USER, HOLD, 'key-1')).rejects.toBeInstanceOf(PaymentDeclinedError);
    expect(keys.release).toHaveBeenCalledWith('record', expect.stringMatching(/^pending:/));
    expect(keys.answer).not.toHaveBeenCalled();
  });

  it('claims for IDEMPOTENCY_CLAIM_LEASE_MS, renews five times a lease while the buy is under way, and stops when it is done', async () => {
    vi.useFakeTimers();
    const { purchases, keys, checkout } = service();
    let finish!: () => void;
    checkout.buy.mockImplementationOnce(
      (_u, _h, _p, id) => new Promise<Purchase>((resolve) => (finish = () => resolve(bought(id)))),
    );
    const buying = purchases.purchase(USER, HOLD, 'key-1');
    await vi.advanceTimersByTimeAsync(LEASE_MS / 2);
    const claim = expect.stringMatching(/^pending:/);
    expect(keys.claim.mock.calls).toEqual([['record', claim, LEASE_MS]]);
    expect(keys.renew.mock.calls).toEqual([
      ['record', claim, LEASE_MS],
      ['record', claim, LEASE_MS],
    ]);
    finish();
    await buying;
    await vi.advanceTimersByTimeAsync(LEASE_MS * 2);
    expect(keys.renew).toHaveBeenCalledTimes(2);
  });
  it("renews the key's claim from the process's one claim timer: a keyed buy adds no timer of its own", async () => {
    vi.useFakeTimers();
    const renewals = new ClaimRenewals();
    // Another attempt's claim on its hold is being renewed already (PurchaseCheckout's, period 1.2 s).
    let endOther!: () => void;
    const other = renewals.whileRenewed(
      { periodMs: 1_200, renew: async () => true, what: 'claim of hold other' },
      () => new Promise<void>((resolve) => (endOther = resolve)),
    );
    const timersBefore = vi.getTimerCount();
    const { purchases, keys, checkout } = service({ outcome: 'CLAIMED' }, renewals);
    let finish!: () => void;
    checkout.buy.mockImplementationOnce(
      (_u, _h, _p, id) => new Promise<Purchase>((resolve) => (finish = () => resolve(bought(id)))),
    );
    const buying = purchases.purchase(USER, HOLD, 'key-1');
    await vi.advanceTimersByTimeAsync(LEASE_MS / 2);
    expect(vi.getTimerCount()).toBe(timersBefore);
    expect(keys.renew).toHaveBeenCalledTimes(2);
    finish();
    await buying;
    endOther();
    await other;
    expect(vi.getTimerCount()).toBe(timersBefore - 1);
  });

  it('answers the key claim still held before the charge without a round trip within half a lease, and renews it past that', async () => {
    let now = 1_000_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const { purchases, keys, checkout } = service();
    const checks: boolean[] = [];
    checkout.buy.mockImplementationOnce(async (_u, _h, _p, id, _hold, stillClaimed) => {
      checks.push(await stillClaimed!());
      expect(keys.renew).not.toHaveBeenCalled();
      // The process stalled past the lease (its timers too); the claim was taken over meanwhile.
      now += LEASE_MS * 2;
      keys.renew.mockResolvedValueOnce(false);
      checks.push(await stillClaimed!());
      return bought(id);
    });
    await purchases.purchase(USER, HOLD, 'key-1');
    expect(checks).toEqual([true, false]);
    expect(keys.renew).toHaveBeenCalledWith('record', expect.stringMatching(/^pending:/), LEASE_MS);
    vi.restoreAllMocks();
  });

  it('asks Redis before the charge once half a lease passed by the monotonic clock, though the wall clock was set back', async () => {
    let monotonic = 5_000;
    let wall = 1_800_000_000_000;
    vi.spyOn(performance, 'now').mockImplementation(() => monotonic);
    vi.spyOn(Date, 'now').mockImplementation(() => wall);
    const { purchases, keys, checkout } = service();
    let stillClaimed: boolean | undefined;
    checkout.buy.mockImplementationOnce(async (_u, _h, _p, id, _hold, check) => {
      // The process stalled past the lease while NTP set the wall clock back an hour.
      monotonic += LEASE_MS * 2;
      wall -= 3_600_000;
      keys.renew.mockResolvedValueOnce(false);
      stillClaimed = await check!();
      return bought(id);
    });
    await purchases.purchase(USER, HOLD, 'key-1');
    expect(stillClaimed).toBe(false);
    expect(keys.renew).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
  });
});
