import { describe, expect, it, vi } from 'vitest';
import { Role } from '@app/database';
import type { CashUpRefund, CashUpRepository, CashUpRows, CashUpSale } from '@app/database';
import type { Purchase } from '../purchases/purchase';
import type { PurchaseStore } from '../purchases/purchase.store';
import { CashUpOfOtherClerkError, cashUpOf, CashUpService, MAX_CASH_UP_RANGE_MS } from './cash-up';

const at = new Date('2030-03-01T10:00:00Z');

function sale(
  id: string,
  clerkId: string,
  currency: string,
  method: 'CASH' | 'CARD_TERMINAL',
  amount: number,
): CashUpSale {
  return { id, clerkId, performanceId: 7, currency, paymentMethod: method, amount, seats: 2, soldAt: at };
}

function refund(clerkId: string, currency: string, method: 'CASH' | 'CARD_TERMINAL', amount: number): CashUpRefund {
  return {
    purchaseId: 'p',
    kind: 'REFUND',
    clerkId,
    performanceId: 7,
    currency,
    paymentMethod: method,
    amount,
    paidAt: at,
  };
}

describe('cashUpOf', () => {
  it('counts sales by their seller and refunds by who paid them out, per currency, never summing currencies', () => {
    const { clerks, totals } = cashUpOf(
      [
        sale('s1', 'b', 'EUR', 'CASH', 3000),
        sale('s2', 'b', 'EUR', 'CARD_TERMINAL', 1500),
        sale('s3', 'a', 'KRW', 'CASH', 50000),
        sale('s4', 'a', 'EUR', 'CASH', 900),
      ],
      [refund('b', 'EUR', 'CASH', 1000), refund('c', 'EUR', 'CARD_TERMINAL', 1500)],
      [
        { id: 'a', email: 'a@example.test', name: 'A' },
        { id: 'b', email: 'b@example.test', name: 'B' },
      ],
    );
    expect(clerks.map((clerk) => [clerk.clerkId, clerk.email, clerk.figures.map((f) => f.currency)])).toEqual([
      // An account gone (no e-mail) sorts first, by id.
      ['c', null, ['EUR']],
      ['a', 'a@example.test', ['EUR', 'KRW']],
      ['b', 'b@example.test', ['EUR']],
    ]);
    expect(clerks[2].figures[0]).toEqual({
      currency: 'EUR',
      sales: 2,
      seats: 4,
      cashSales: 1,
      cardTerminalSales: 1,
      cashTaken: 3000,
      cardTerminalTaken: 1500,
      refunds: 1,
      cashRefunded: 1000,
      cardTerminalRefunded: 0,
      cashNet: 2000,
      cardTerminalNet: 1500,
    });
    expect(clerks[0].figures[0]).toMatchObject({
      sales: 0,
      refunds: 1,
      cardTerminalRefunded: 1500,
      cardTerminalNet: -1500,
    });
    expect(totals).toEqual([
      expect.objectContaining({ currency: 'EUR', sales: 3, cashTaken: 3900, cashNet: 2900, cardTerminalNet: 0 }),
      expect.objectContaining({ currency: 'KRW', sales: 1, cashTaken: 50000, cashNet: 50000, refunds: 0 }),
    ]);
  });

  it('has no clerk and no total for nothing', () => {
    expect(cashUpOf([], [], [])).toEqual({ clerks: [], totals: [] });
  });
});

describe('CashUpService.read', () => {
  const empty: CashUpRows = { sales: [], refunds: [], clerks: [] };

  function service(rows: CashUpRows = empty, pending: Record<string, Purchase[]> = {}) {
    const repository = {
      sellingAccounts: vi.fn(async () => Object.keys(pending)),
      read: vi.fn(async () => rows),
    };
    const store = { indexedOf: vi.fn(async (userId: string) => pending[userId] ?? []) };
    return {
      cashUps: new CashUpService(repository as unknown as CashUpRepository, store as unknown as PurchaseStore),
      repository,
      store,
    };
  }
  const range = { from: at, to: new Date(at.getTime() + 3_600_000), clerkId: null, performanceId: null };
  const admin = { id: 'admin', role: Role.Admin };
  const staff = { id: 'clerk', role: Role.Staff };

  it('refuses an empty, reversed or too long range before reading anything', async () => {
    const { cashUps, repository } = service();
    await expect(cashUps.read(admin, { ...range, to: at })).rejects.toThrow('from must be before to');
    await expect(cashUps.read(admin, { ...range, to: new Date(at.getTime() - 1) })).rejects.toThrow('before');
    await expect(
      cashUps.read(admin, { ...range, to: new Date(at.getTime() + MAX_CASH_UP_RANGE_MS + 1) }),
    ).rejects.toThrow('at most 31 days');
    await expect(
      cashUps.read(admin, { ...range, to: new Date(at.getTime() + MAX_CASH_UP_RANGE_MS) }),
    ).resolves.toBeDefined();
    expect(repository.read).toHaveBeenCalledTimes(1);
  });

  it("gives staff their own drawer only; an admin anyone's", async () => {
    const { cashUps, repository, store } = service();
    expect((await cashUps.read(staff, range)).clerkId).toBe('clerk');
    expect(store.indexedOf).toHaveBeenCalledWith('clerk', null);
    expect(repository.sellingAccounts).not.toHaveBeenCalled();
    expect(repository.read).toHaveBeenLastCalledWith(expect.objectContaining({ clerkId: 'clerk' }), []);
    await expect(cashUps.read(staff, { ...range, clerkId: 'other' })).rejects.toBeInstanceOf(CashUpOfOtherClerkError);
    expect((await cashUps.read(admin, { ...range, clerkId: 'other' })).clerkId).toBe('other');
    expect((await cashUps.read(admin, range)).clerkId).toBeNull();
    expect(repository.sellingAccounts).toHaveBeenCalledTimes(1);
  });

  it('adds the unflushed box office sales of the range, whole, once (PostgreSQL wins a sale on both sides)', async () => {
    const purchase = (id: string, createdAt: Date, extra: Partial<Purchase> = {}): Purchase =>
      ({
        id,
        userId: 'clerk',
        performanceId: 7,
        seatIds: [1],
        amount: 1000,
        refundedSeatIds: [2],
        refundedAmount: 500,
        currency: 'EUR',
        status: 'PAID',
        createdAt,
        paymentMethod: 'CASH',
        ...extra,
      }) as Purchase;
    const flushed = sale('both', 'clerk', 'EUR', 'CASH', 9999);
    const { cashUps } = service(
      { ...empty, sales: [flushed] },
      {
        clerk: [
          purchase('redis', at),
          purchase('both', at),
          purchase('online', at, { paymentMethod: undefined }),
          purchase('at-to', range.to),
          purchase('before', new Date(at.getTime() - 1)),
          purchase('other-show', at, { performanceId: 8 }),
        ],
      },
    );
    const cashUp = await cashUps.read(admin, { ...range, performanceId: 7 });
    expect(cashUp.totals).toEqual([
      expect.objectContaining({ currency: 'EUR', sales: 2, seats: 4, cashTaken: 9999 + 1500 }),
    ]);
  });
});
