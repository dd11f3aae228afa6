import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CanceledBy } from '@app/core';
import { insertShow, insertUser, openMigratedDatabase, waitUntil } from '@app/testing';
import { BoxOfficePaymentMethod, PurchaseStatus } from '../entities/purchase.entity';
import { PurchaseRecord, PurchaseRepository } from './purchase.repository';
import { PurchaseRefundsRepository } from './purchase-refunds.repository';
import { WindowRefundsRepository } from './window-refunds.repository';

/**
 * Refunds owed at the window (`window_refunds`): written with a box office sale's cancellation by
 * the bulk refund of its show, whoever writes it (here the flush's batch write, a replay included),
 * and for nothing else; marked paid once, whatever the concurrency. Real PostgreSQL.
 */
describe('WindowRefundsRepository and the cancellations that owe a refund at the window (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  let userId: string;
  let performanceId: number;
  const BOUNDS = { lockTimeoutMs: 1_000, statementTimeoutMs: 30_000 };

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    userId = await insertUser(db, 'window@example.test', 'Window');
    ({ performanceId } = await insertShow(db));
  });
  afterAll(() => close?.());

  const sale = (paymentMethod: BoxOfficePaymentMethod | null, amount = 4550): PurchaseRecord => ({
    id: randomUUID(),
    reservationId: randomUUID(),
    userId,
    performanceId,
    seatIds: [],
    amount,
    currency: 'EUR',
    chargeId: '',
    status: PurchaseStatus.Paid,
    createdAt: new Date(),
    canceledAt: null,
    paymentMethod,
    ...(paymentMethod ? { deliveryEmail: 'walk.up@example.test', deliveryName: 'Jin Park' } : {}),
  });

  /** Writes the purchases, then their cancellations by `canceledBy`, as the flush does (twice: a replay). */
  const writeCanceled = async (purchases: PurchaseRecord[], canceledBy: CanceledBy) => {
    const repository = new PurchaseRepository(db);
    await repository.writeBatch({ purchases, cancellations: [] }, BOUNDS);
    const cancellations = purchases.map((p) => ({ purchaseId: p.id, canceledAt: new Date(), canceledBy }));
    await repository.writeBatch({ purchases: [], cancellations }, BOUNDS);
    await repository.writeBatch({ purchases: [], cancellations }, BOUNDS);
  };

  it("owes a box office sale's refund at the window once when its show's bulk refund cancels it, and nothing else", async () => {
    const cash = sale('CASH');
    const card = sale('CARD_TERMINAL', 2275);
    const free = sale('CASH', 0);
    const online = sale(null);
    await writeCanceled([cash, card, free, online], 'performance');
    const byOperator = sale('CASH');
    await writeCanceled([byOperator], 'operator');

    const rows = await db.query(
      `SELECT purchase_id, amount::int, currency, payment_method, status FROM window_refunds
        WHERE purchase_id = ANY($1::uuid[]) ORDER BY amount DESC`,
      [[cash.id, card.id, free.id, online.id, byOperator.id]],
    );
    expect(rows).toEqual([
      { purchase_id: cash.id, amount: 4550, currency: 'EUR', payment_method: 'CASH', status: 'OWED' },
      { purchase_id: card.id, amount: 2275, currency: 'EUR', payment_method: 'CARD_TERMINAL', status: 'OWED' },
    ]);
    const owed = await new WindowRefundsRepository(db).page(performanceId, 'OWED', null, 10);
    expect(owed.map((refund) => refund.purchaseId).sort()).toEqual([cash.id, card.id].sort());
    expect(owed.find((refund) => refund.purchaseId === cash.id)).toMatchObject({
      buyerEmail: 'walk.up@example.test',
      buyerName: 'Jin Park',
      refundMethod: 'CASH',
      paidAt: null,
      paidBy: null,
    });
  });

  /** A partial refund of one seat (4550) of `purchase`, at the window. */
  const seatRefundOf = (purchase: PurchaseRecord) => ({
    refundId: randomUUID(),
    purchaseId: purchase.id,
    seatIds: [1],
    keptSeatIds: [],
    amount: 4550,
    currency: 'EUR',
    chargeId: '',
    refundedAt: new Date(),
  });

  it("owes at the window only what a partial refund written after the bulk refund's cancel left (once, a replay included)", async () => {
    // Redis gave one seat to the window's partial refund before the bulk refund took the rest, but
    // the bulk refund's write reached PostgreSQL first, owing the whole sale (as money trial M1's order).
    // The second sale's other seat was free: nothing is left owed.
    const cash = sale('CASH', 9100);
    const card = sale('CARD_TERMINAL', 4550);
    await writeCanceled([cash, card], 'performance');
    const refunds = [cash, card].map(seatRefundOf);
    for (const refund of refunds) await new PurchaseRefundsRepository(db).written(refund);
    await new PurchaseRepository(db).writeBatch({ purchases: [], cancellations: [], refunds }, BOUNDS);
    const rows = await db.query(
      `SELECT purchase_id, amount::int, status FROM window_refunds WHERE purchase_id = ANY($1::uuid[])`,
      [[cash.id, card.id]],
    );
    expect(rows).toEqual([{ purchase_id: cash.id, amount: 4550, status: 'OWED' }]);
  });

  /** How many sessions of this database wait for a lock. */
  const lockWaits = async () =>
    Number(
      (
        await db.query(
          `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
      )[0].count,
    );
  /**
   * Runs `first` until it waits on an outbox row `messageId` another transaction holds (its write
   * half done), then `second`, until it waits too or ends; then lets both go. Resolves when both are done.
   */
  async function interleaved(messageId: string, first: () => Promise<void>, second: () => Promise<void>) {
    const holder = db.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query(`INSERT INTO outbox (message_id, routing_key, payload) VALUES ($1, 'held', '{}')`, [messageId]);
    const one = first();
    await waitUntil(async () => (await lockWaits()) === 1, 'the first write waiting');
    let ended = false;
    const two = second().finally(() => (ended = true));
    await waitUntil(async () => ended || (await lockWaits()) === 2, 'the second write waiting or done');
    await holder.rollbackTransaction();
    await holder.release();
    await Promise.all([one, two]);
  }
  const showCancel = (purchase: PurchaseRecord) =>
    new PurchaseRepository(db).writeWindowSaleShowCancels([
      { purchaseId: purchase.id, canceledAt: new Date(), canceledBy: 'performance' },
    ]);
  const owedOf = async (purchase: PurchaseRecord) =>
    db.query(`SELECT amount::int, status FROM window_refunds WHERE purchase_id = $1`, [purchase.id]);

  it('owes at the window what is left of a sale whose partial refund was written while the bulk refund canceled it', async () => {
    // The bulk refund's cancel half written when the partial refund's write starts.
    const cash = sale('CASH', 9100);
    await new PurchaseRepository(db).writeBatch({ purchases: [cash], cancellations: [] }, BOUNDS);
    await interleaved(
      `purchase-canceled:${cash.id}`,
      () => showCancel(cash),
      () => new PurchaseRefundsRepository(db).written(seatRefundOf(cash)),
    );
    expect(await owedOf(cash)).toEqual([{ amount: 4550, status: 'OWED' }]);

    // The partial refund's write half done when the bulk refund's cancel starts.
    const card = sale('CARD_TERMINAL', 9100);
    await new PurchaseRepository(db).writeBatch({ purchases: [card], cancellations: [] }, BOUNDS);
    const refund = seatRefundOf(card);
    await interleaved(
      `purchase-refunded:${refund.refundId}`,
      () => new PurchaseRefundsRepository(db).written(refund),
      () => showCancel(card),
    );
    expect(await owedOf(card)).toEqual([{ amount: 4550, status: 'OWED' }]);
  });

  it('never deadlocks a flush refunding one box office sale and canceling another with the bulk refund canceling both', async () => {
    // The flush's batch: a partial refund of one sale (its row locked first) and a cancellation of the
    // other, whose id sorts first; the bulk refund of their show locks both rows in id order. The flush
    // is held half done (the refund's notice) while the bulk refund waits on the sale the flush holds.
    const sales = [sale('CASH', 9100), sale('CARD_TERMINAL', 9100)].sort((a, b) => a.id.localeCompare(b.id));
    const [canceled, refunded] = sales;
    await new PurchaseRepository(db).writeBatch({ purchases: sales, cancellations: [] }, BOUNDS);
    const refund = seatRefundOf(refunded);
    const showCancels = sales.map((purchase) => ({
      purchaseId: purchase.id,
      canceledAt: new Date(),
      canceledBy: 'performance' as const,
    }));
    const flush = () =>
      new PurchaseRepository(db)
        .writeBatch({ purchases: [], cancellations: [showCancels[0]], refunds: [refund] }, BOUNDS)
        .then(() => undefined);
    const bulkRefund = () => new PurchaseRepository(db).writeWindowSaleShowCancels(showCancels, [refund]);
    // A deadlock aborts one of them with 40P01 (and the flusher would retry): none may.
    await interleaved(`purchase-refunded:${refund.refundId}`, flush, bulkRefund);
    expect(await owedOf(canceled)).toEqual([{ amount: 9100, status: 'OWED' }]);
    expect(await owedOf(refunded)).toEqual([{ amount: 4550, status: 'OWED' }]);
    const statuses = await db.query(`SELECT status FROM purchases WHERE id = ANY($1::uuid[])`, [
      sales.map((p) => p.id),
    ]);
    expect(statuses).toEqual([{ status: 'CANCELED' }, { status: 'CANCELED' }]);
  });

  it('runs the flush and the bulk refund on the same box office sales many times at once with no deadlock', async () => {
    for (let round = 0; round < 12; round++) {
      const sales = [sale('CASH', 9100), sale('CARD_TERMINAL', 9100), sale('CASH', 9100)];
      await new PurchaseRepository(db).writeBatch({ purchases: sales, cancellations: [] }, BOUNDS);
      const refunds = sales.slice(1).map(seatRefundOf);
      const showCancels = sales.map((purchase) => ({
        purchaseId: purchase.id,
        canceledAt: new Date(),
        canceledBy: 'performance' as const,
      }));
      // The flush's entries in stream order, not id order: its cancellations reversed.
      await Promise.all([
        new PurchaseRepository(db).writeBatch(
          { purchases: [], cancellations: [...showCancels].reverse(), refunds },
          BOUNDS,
        ),
        new PurchaseRepository(db).writeWindowSaleShowCancels(showCancels, refunds),
      ]);
      const owed = await db.query(
        `SELECT sum(amount)::int AS total FROM window_refunds WHERE purchase_id = ANY($1::uuid[])`,
        [sales.map((p) => p.id)],
      );
      expect(owed).toEqual([{ total: 9100 + 4550 + 4550 }]);
    }
  });

  it('marks a refund paid once of many concurrent marks, with one audit row', async () => {
    const cash = sale('CASH');
    await writeCanceled([cash], 'performance');
    const repository = new WindowRefundsRepository(db);
    const operators = Array.from({ length: 6 }, (_, i) => ({ id: randomUUID(), email: `op${i}@example.test` }));
    const marks = await Promise.all(
      operators.map((operator) => repository.markPaid(cash.id, operator, { action: 'purchase.window-refund-paid' })),
    );
    const won = marks.filter((mark) => mark.outcome === 'paid');
    expect(won).toHaveLength(1);
    expect(marks.filter((mark) => mark.outcome === 'already-paid')).toHaveLength(5);
    const winner = won[0].outcome === 'paid' ? won[0].refund : null;
    expect(winner).toMatchObject({ status: 'PAID', amount: 4550 });
    for (const mark of marks) {
      if (mark.outcome !== 'not-found') expect(mark.refund.paidBy).toEqual(winner?.paidBy);
    }
    const audit = await db.query(`SELECT actor_email, details FROM admin_audit_log WHERE subject_id = $1`, [cash.id]);
    expect(audit).toEqual([
      {
        actor_email: winner?.paidBy?.email,
        details: { performanceId, amount: 4550, currency: 'EUR', refundMethod: 'CASH' },
      },
    ]);
    expect(await repository.markPaid(randomUUID(), operators[0], { action: 'purchase.window-refund-paid' })).toEqual({
      outcome: 'not-found',
    });
  });
});
