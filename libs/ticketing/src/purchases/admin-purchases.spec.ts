import { describe, expect, it, vi } from 'vitest';
import type { AdminAuditRepository, PurchaseRepository } from '@app/database';
import { InvalidInputError, NotFoundError, PurchaseCanceledError, PurchaseRefundedError } from '../errors';
import { AdminPurchases, REFUND_ACTION } from './admin-purchases';
import type { Purchase } from './purchase';
import type { PurchaseCancellation } from './purchase-cancellation';
import type { PurchaseReader } from './purchase-reader';
import type { PurchaseStore } from './purchase.store';

const paid: Purchase = {
  id: 'p1',
  reservationId: 'h1',
  userId: 'buyer',
  performanceId: 7,
  seatIds: [1, 2],
  amount: 100,
  currency: 'KRW',
  chargeId: 'c1',
  status: 'PAID',
  createdAt: new Date(0),
  canceledAt: null,
} as Purchase;

function admin(found: Purchase | null, cancel: () => Promise<Purchase>) {
  const reader = { find: vi.fn(async () => found) };
  const cancellation = { cancelAsOperator: vi.fn(async () => ({ keptSeatIds: [] as number[], ...(await cancel()) })) };
  const audit = { record: vi.fn(async () => ({})), recordOnce: vi.fn(async () => true) };
  const service = new AdminPurchases(
    {} as PurchaseRepository,
    {} as PurchaseStore,
    reader as unknown as PurchaseReader,
    cancellation as unknown as PurchaseCancellation,
    audit as unknown as AdminAuditRepository,
  );
  return { service, cancellation, audit };
}
const operator = { id: 'admin', email: 'admin@example.test' };

describe('AdminPurchases.refund', () => {
  it('cancels as an operator for the buyer and records who refunded', async () => {
    const { service, cancellation, audit } = admin(paid, async () => ({ ...paid, status: 'CANCELED' }));
    expect((await service.refund(operator, 'p1')).status).toBe('CANCELED');
    expect(cancellation.cancelAsOperator).toHaveBeenCalledWith('buyer', 'p1', 'operator', 'admin', undefined);
    expect(audit.record).toHaveBeenCalledWith(
      expect.objectContaining({ actorId: 'admin', actorEmail: operator.email, action: REFUND_ACTION, subjectId: 'p1' }),
    );
  });

  it("passes the operator's Idempotency-Key, and tries a CANCELED purchase with one: it may be the key's own refund", async () => {
    const canceled = { ...paid, status: 'CANCELED' } as Purchase;
    const { service, cancellation, audit } = admin(canceled, async () => ({ ...canceled, replayed: true }));
    const answer = await service.refund(operator, 'p1', { resellCheckedInSeats: true, idempotencyKey: 'k1' });
    expect(answer).toMatchObject({ status: 'CANCELED', replayed: true });
    expect(cancellation.cancelAsOperator).toHaveBeenCalledWith('buyer', 'p1', 'operator', 'admin', {
      operatorId: 'admin',
      idempotencyKey: 'k1',
    });
    // A replay's audit row is written only if the first refund did not write it.
    expect(audit.record).not.toHaveBeenCalled();
    expect(audit.recordOnce).toHaveBeenCalledWith(
      expect.objectContaining({ actorId: 'admin', action: REFUND_ACTION, subjectId: 'p1' }),
      { partial: false },
    );
  });

  it('refuses a malformed Idempotency-Key before anything is refunded', async () => {
    const { service, cancellation } = admin(paid, async () => paid);
    await expect(
      service.refund(operator, 'p1', { resellCheckedInSeats: true, idempotencyKey: 'k'.repeat(201) }),
    ).rejects.toThrow(/Idempotency-Key must be 1 to 200 printable ASCII characters/);
    expect(cancellation.cancelAsOperator).not.toHaveBeenCalled();
  });

  it('keeps checked-in seats sold only when told the seats are not to be resold, and records them', async () => {
    const { service, cancellation, audit } = admin(paid, async () => ({
      ...paid,
      status: 'CANCELED',
      keptSeatIds: [1],
    }));
    expect((await service.refund(operator, 'p1', { resellCheckedInSeats: false })).keptSeatIds).toEqual([1]);
    expect(cancellation.cancelAsOperator).toHaveBeenCalledWith(
      'buyer',
      'p1',
      'operator-keep-checked-in',
      'admin',
      undefined,
    );
    expect(audit.record).toHaveBeenCalledWith(
      expect.objectContaining({ details: expect.objectContaining({ keptSeatIds: [1] }) }),
    );
  });

  it('answers a lost race or a canceled purchase with PurchaseRefundedError, recording nothing', async () => {
    const lost = admin(paid, async () => {
      throw new PurchaseCanceledError();
    });
    await expect(lost.service.refund(operator, 'p1')).rejects.toBeInstanceOf(PurchaseRefundedError);
    const canceled = admin({ ...paid, status: 'CANCELED' }, async () => paid);
    await expect(canceled.service.refund(operator, 'p1')).rejects.toBeInstanceOf(PurchaseRefundedError);
    expect(canceled.cancellation.cancelAsOperator).not.toHaveBeenCalled();
    expect(lost.audit.record).not.toHaveBeenCalled();
  });

  it('answers an unknown purchase with NotFoundError', async () => {
    const { service } = admin(null, async () => paid);
    await expect(service.refund(operator, 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('AdminPurchases.list by presale', () => {
  function lister() {
    const purchases = { pageForOperators: vi.fn(async () => []) };
    const store = { read: vi.fn(async () => null) };
    const service = new AdminPurchases(
      purchases as unknown as PurchaseRepository,
      store as unknown as PurchaseStore,
      {} as PurchaseReader,
      {} as PurchaseCancellation,
      {} as AdminAuditRepository,
    );
    return { service, purchases };
  }

  it('passes the presale to the search, with the other filters', async () => {
    const { service, purchases } = lister();
    await service.list({ performanceId: 7, presaleId: '12' }, undefined, 20);
    expect(purchases.pageForOperators).toHaveBeenCalledWith({ performanceId: 7, presaleId: '12' }, null, 21);
  });

  it('refuses what is not a presale id, searching nothing', async () => {
    const { service, purchases } = lister();
    for (const presaleId of ['0', '012', '-1', 'x', '12345678901234567', ' 12']) {
      await expect(service.list({ presaleId }, undefined, 20)).rejects.toThrow(InvalidInputError);
    }
    expect(purchases.pageForOperators).not.toHaveBeenCalled();
  });
});
