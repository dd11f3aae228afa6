import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitForValue } from '@app/testing';
import { BulkRefund, HoldSweeper, PaymentGateway, PaymentReconciler, PurchaseFlusher } from '@app/ticketing';
import { flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { RefundLedger, reconcileUntilSettled } from './support/payments';
import {
  AnswerLog,
  expectPurchasesPersisted,
  expectSeatsConsistent,
  fastBuyer,
  Headers,
  RACE_API_ENV,
} from './support/races';

const BUYERS = 200;

/**
 * The performance's lifecycle racing buyers: pause, resume, close and reschedule (PATCH) while 200
 * buyers hold and buy through a gateway that takes a few milliseconds per charge, so operators'
 * changes land between the pre-check and the sale; and a cancel of the performance while 200 buyers
 * buy and cancel their own purchases, the flusher and the bulk refund running meanwhile. No 5xx, no
 * sale in a window the operator had closed, every 201 purchase in PostgreSQL, every charge settled
 * (a canceled show's refunded once), the seats in step everywhere.
 */
describe('performance lifecycle racing buyers (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let ledger: RefundLedger;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({
      ...RACE_API_ENV,
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
    }));
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await close?.();
  });

  /** A fresh ledger over the gateway, whose charges take 0–20 ms (a processor's round trip). */
  function slowLedger(): RefundLedger {
    vi.restoreAllMocks();
    const books = new RefundLedger();
    const { charge } = books.install(api.app.get(PaymentGateway));
    const inner = charge.getMockImplementation()!;
    charge.mockImplementation(async (request) => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
      return inner(request);
    });
    return books;
  }

  async function newPerformance(rows: number): Promise<{ id: number; seatIds: number[] }> {
    const event = await call('POST', '/events', { body: { title: 'Lifecycle', venue: 'Hall' }, session: admin });
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      body: {
        startsAt: '2030-01-01T19:00:00Z',
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: [{ name: 'Floor', grade: 'A', price: 1000, rows, seatsPerRow: 20 }],
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    const rowsOfSeats = await db.query('SELECT id FROM seats WHERE performance_id = $1 ORDER BY id', [id]);
    return { id, seatIds: rowsOfSeats.rows.map((row: { id: number }) => row.id) };
  }

  /** One buyer: a hold of 2 seats (best available, or by id), then its purchase; times of each purchase; `onSold` on a 201. */
  async function buyerRun(
    headers: Headers,
    performanceId: number,
    seatIds: number[],
    log: AnswerLog,
    sold: Map<string, { amount: number; prices: Map<number, number> }>,
    purchases: { start: number; end: number; status: number; id?: string; headers: Headers }[],
    onSold: () => void = () => undefined,
  ): Promise<void> {
    const start = Math.floor(Math.random() * (seatIds.length - 1));
    const payload =
      Math.random() < 0.5
        ? { performanceId, quantity: 2 }
        : { performanceId, seatIds: [seatIds[start], seatIds[start + 1]] };
    const held = await api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload });
    log.note('hold', held);
    if (held.statusCode !== 201) return;
    const hold = held.json();
    const startedAt = Date.now();
    const bought = await api.app.inject({
      method: 'POST',
      url: '/api/v1/purchases',
      headers,
      payload: { reservationId: hold.id },
    });
    purchases.push({ start: startedAt, end: Date.now(), status: bought.statusCode, headers, id: bought.json().id });
    log.note('purchase', bought);
    if (bought.statusCode === 201) {
      onSold();
      sold.set(bought.json().id, {
        amount: hold.amount,
        prices: new Map(hold.seats.map((seat: { seatId: number; price: number }) => [seat.seatId, seat.price])),
      });
    }
  }

  it('sells nothing while paused or closed, whatever a PATCH races, and keeps every promise', async () => {
    ledger = slowLedger();
    const performance = await newPerformance(10);
    const buyers = await Promise.all(Array.from({ length: BUYERS }, () => fastBuyer(api)));
    const log = new AnswerLog();
    const sold = new Map<string, { amount: number; prices: Map<number, number> }>();
    const purchases: { start: number; end: number; status: number; id?: string; headers: Headers }[] = [];
    // Windows in which sales were off for certain: from the answer of a PAUSED/CLOSED PATCH to the
    // sending of the next ON_SALE one.
    const closedWindows: { from: number; to: number }[] = [];
    let buying = true;
    // After reopening, the operator's next change waits for one sale (or the sale's end): on a
    // loaded host its changes would otherwise come so close together that no purchase ever lands
    // in an on-sale window, and the race would test nothing.
    let saleWaiters: (() => void)[] = [];
    const saleMade = () => new Promise<void>((resolve) => saleWaiters.push(resolve));
    const onSold = () => {
      const waiters = saleWaiters;
      saleWaiters = [];
      waiters.forEach((resolve) => resolve());
    };
    let endBuying!: () => void;
    const buyingEnded = new Promise<void>((resolve) => (endBuying = resolve));

    const operator = async () => {
      const steps = ['PAUSED', 'ON_SALE', 'CLOSED', 'ON_SALE', 'PAUSED', 'ON_SALE', 'reschedule', 'CLOSED', 'ON_SALE'];
      let i = 0;
      while (buying) {
        const step = steps[i++ % steps.length];
        const sentAt = Date.now();
        const body = step === 'reschedule' ? { startsAt: `2030-01-0${1 + (i % 5)}T19:00:00Z` } : { status: step };
        const res = await call('PATCH', `/performances/${performance.id}`, { body, session: admin });
        log.note(`patch ${step}`, res);
        expect(res.statusCode, res.body).toBe(200);
        if (step === 'PAUSED' || step === 'CLOSED') closedWindows.push({ from: Date.now(), to: Infinity });
        if (step === 'ON_SALE' && closedWindows.length > 0 && closedWindows.at(-1)!.to === Infinity) {
          closedWindows.at(-1)!.to = sentAt;
        }
        if (step === 'ON_SALE') await Promise.race([saleMade(), buyingEnded]);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const reopened = await call('PATCH', `/performances/${performance.id}`, {
        body: { status: 'ON_SALE' },
        session: admin,
      });
      expect(reopened.statusCode, reopened.body).toBe(200);
    };
    const flusher = async () => {
      while (buying) {
        await api.app.get(PurchaseFlusher).flushOnce({ batchSize: 50 });
        await api.app.get(HoldSweeper).sweepOnce();
      }
    };

    const running = [operator(), flusher()];
    try {
      // In waves of 20, so the sale lasts through several of the operator's changes.
      for (let wave = 0; wave < BUYERS; wave += 20) {
        await Promise.all(
          buyers
            .slice(wave, wave + 20)
            .map((headers) => buyerRun(headers, performance.id, performance.seatIds, log, sold, purchases, onSold)),
        );
      }
    } finally {
      buying = false;
      endBuying();
      await Promise.all(running);
    }

    log.expectNo5xx();
    const soldWhileClosed = purchases.filter(
      (p) => p.status === 201 && closedWindows.some((w) => p.start >= w.from && p.end <= w.to),
    );
    expect(soldWhileClosed, 'purchases that ran wholly while sales were paused or closed').toEqual([]);
    expect(purchases.filter((p) => p.status === 201).length, JSON.stringify(log.summary())).toBeGreaterThan(5);

    await flushPurchases(api.app);
    await reconcileUntilSettled(
      api,
      db,
      purchases.map((p) => p.id).filter((id): id is string => !!id),
    );
    ledger.expectMoneyMovedOnce();
    await expectSeatsConsistent(api, db, performance.id);
    await expectPurchasesPersisted(db, performance.id, sold);
  });

  it('refunds every purchase of a canceled performance once, racing buyers’ purchases, cancels and the flush', async () => {
    ledger = slowLedger();
    const performance = await newPerformance(10);
    const buyers = await Promise.all(Array.from({ length: BUYERS }, () => fastBuyer(api)));
    const log = new AnswerLog();
    const sold = new Map<string, { amount: number; prices: Map<number, number> }>();
    const purchases: { start: number; end: number; status: number; id?: string; headers: Headers }[] = [];
    let canceledAt = Infinity;
    let working = true;

    // The first half buys before the cancel, the second races it; some buyers cancel their own.
    const firstHalf = buyers.slice(0, BUYERS / 2);
    await Promise.all(
      firstHalf.map((headers) => buyerRun(headers, performance.id, performance.seatIds, log, sold, purchases)),
    );
    const batchLoops = async () => {
      while (working) {
        await api.app.get(PurchaseFlusher).flushOnce({ batchSize: 20 });
        await api.app.get(BulkRefund).refundOnce();
        // A buyer's own cancel of a purchase not flushed yet owes its refund to the reconciler.
        await api.app.get(PaymentReconciler).reconcileOnce();
      }
    };
    const ownCancels = async () => {
      for (const p of purchases.filter((q) => q.status === 201 && Math.random() < 0.3)) {
        const res = await api.app.inject({
          method: 'POST',
          url: `/api/v1/purchases/${p.id}/cancel`,
          headers: p.headers,
        });
        log.note('own cancel', res);
        expect([200, 409], res.body).toContain(res.statusCode);
      }
    };
    const cancelShow = async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const res = await call('POST', `/admin/performances/${performance.id}/cancel`, {
        body: { reason: 'storm' },
        session: admin,
      });
      log.note('cancel show', res);
      expect(res.statusCode, res.body).toBe(202);
      canceledAt = Date.now();
    };
    const loops = batchLoops();
    await Promise.all([
      ...buyers
        .slice(BUYERS / 2)
        .map((headers) => buyerRun(headers, performance.id, performance.seatIds, log, sold, purchases)),
      ownCancels(),
      cancelShow(),
    ]);
    // Purchases after the cancel's answer are refused.
    const late = buyers.slice(0, 20);
    await Promise.all(
      late.map((headers) => buyerRun(headers, performance.id, performance.seatIds, log, sold, purchases)),
    );

    log.expectNo5xx();
    expect(
      purchases.filter((p) => p.status === 201 && p.start > canceledAt),
      'purchases started after the cancel was answered that succeeded',
    ).toEqual([]);
    expect(log.answers.filter((a) => a.what === 'hold' && a.status === 201).length, 'holds answered').toBeGreaterThan(
      0,
    );

    try {
      await waitForValue(
        async () =>
          (await call('GET', `/admin/performances/${performance.id}/cancellation`, { session: admin })).json() as {
            status: string;
          },
        'the bulk refund completed',
        { done: (progress) => progress.status === 'COMPLETED', timeoutMs: 30_000, intervalMs: 50 },
      );
    } finally {
      working = false;
      await loops;
    }
    await flushPurchases(api.app);
    while (await api.app.get(PaymentReconciler).reconcileOnce());

    // Every purchase answered 201 is in PostgreSQL, canceled; every charge refunded exactly once.
    const rows = await db.query('SELECT id, status FROM purchases WHERE performance_id = $1', [performance.id]);
    expect(rows.rows.filter((row: { status: string }) => row.status !== 'CANCELED')).toEqual([]);
    expect(new Set(rows.rows.map((row: { id: string }) => row.id))).toEqual(new Set(sold.keys()));
    const attempts = await db.query(
      `SELECT purchase_id, status, charge_id FROM payment_attempts WHERE performance_id = $1`,
      [performance.id],
    );
    expect(
      attempts.rows.filter((row: { status: string }) => row.status !== 'REFUNDED'),
      'attempts not refunded on a canceled show',
    ).toEqual([]);
    for (const row of attempts.rows as { charge_id: string }[]) {
      expect(ledger.refundsOf(row.charge_id).length, `refunds of ${row.charge_id}`).toBe(1);
    }
    ledger.expectMoneyMovedOnce();
    const letters = await expectSeatsConsistent(api, db, performance.id);
    // Nothing stays sold (no check-in here); holds refused their purchase keep their seats till they expire.
    expect([...letters.values()].filter((letter) => letter === 'S')).toEqual([]);
  });
});
