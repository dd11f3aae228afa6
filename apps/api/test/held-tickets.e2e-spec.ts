import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { PurchaseRepository } from '@app/database';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { PurchaseFlusher, PurchaseFlushStore } from '@app/ticketing';
import { caller, createPerformance, doorsOpenNow, flushPurchases, hold } from './purchase-helpers';
import { startTestApi } from './support/api';

interface HeldTicketBody {
  id: string;
  purchaseId: string;
  performanceId: number;
  status: 'ACTIVE' | 'CANCELED';
  code: string | null;
  received: boolean;
}

/**
 * `GET /tickets` against cancellations not written behind yet, on real PostgreSQL and Redis (and,
 * in the int-cluster project, a Redis Cluster: the pages hold purchases of two performances, so two
 * slots): a ticket whose purchase was canceled (by its buyer, or refunded by an operator) shows
 * CANCELED without a code at once, to its buyer and to whoever received it by a transfer, as
 * `GET /purchases/:id/tickets` and the door have it; the flush that writes the cancellation later
 * changes nothing in the answer. A cancel of a purchase PostgreSQL has is written there at once
 * when it can be; the tests hold the purchase's row so that it cannot (PostgreSQL busy), which
 * leaves the cancellation to the flush, as a failed write-through does.
 */
describe('GET /tickets before a cancellation is written behind (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let call: ReturnType<typeof caller>;
  let admin: TestSession;
  let buyer: TestSession;
  let friend: TestSession;
  let shows: { id: number; seatIds: number[] }[];
  const nextSeat = new Map<number, number>();

  beforeAll(async () => {
    // A flush pass writes every entry however recent (but the cut-off flusher of flushOlderThan).
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
    call = caller(api.app);
    admin = await createSession(api.app, { role: Role.Admin });
    buyer = await createSession(api.app, { name: 'Grace Buyer' });
    friend = await createSession(api.app, { name: 'Ada Friend' });
    await sql('UPDATE users SET email_verified_at = now() WHERE id = ANY($1)', [[buyer.id, friend.id]]);
    shows = [
      await createPerformance(api.app, admin, 100, doorsOpenNow()),
      await createPerformance(api.app, admin, 100, doorsOpenNow()),
    ];
  });
  afterAll(async () => api?.close());

  async function sql<T>(text: string, params: unknown[]): Promise<T[]> {
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      return (await db.query(text, params)).rows as T[];
    } finally {
      await db.end();
    }
  }

  /** Buys `count` seats of `show` for `session` (not flushed); answers the purchase. */
  async function buy(
    show: { id: number; seatIds: number[] },
    count: number,
    session = buyer,
  ): Promise<{ id: string; createdAt: string }> {
    const first = nextSeat.get(show.id) ?? 0;
    nextSeat.set(show.id, first + count);
    const held = await hold(api.app, session, show.id, show.seatIds.slice(first, first + count));
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session });
    expect(bought.statusCode, bought.body).toBe(201);
    return bought.json();
  }

  async function held(session: TestSession): Promise<HeldTicketBody[]> {
    const answer = await call('GET', '/tickets?limit=100', { session });
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json().items;
  }

  const ofPurchase = (tickets: HeldTicketBody[], purchaseId: string) =>
    tickets.filter((ticket) => ticket.purchaseId === purchaseId);

  /** PostgreSQL's ticket statuses of a purchase, in seat order. */
  const writtenStatuses = async (purchaseId: string) =>
    (
      await sql<{ status: string }>('SELECT status FROM tickets WHERE purchase_id = $1 ORDER BY seat_id', [purchaseId])
    ).map((row) => row.status);

  /**
   * Runs `action` while a transaction of the test's own holds the purchase's row (FOR UPDATE), as a
   * busy or stuck PostgreSQL would: a cancel's or refund's write-through gives up after its lock wait
   * (ROW_LOCK_TIMEOUT_MS, 10 s) and leaves the cancellation to the flush; Redis has it at once.
   */
  async function withPurchaseRowLocked<T>(purchaseId: string, action: () => Promise<T>): Promise<T> {
    const lock = new Client({ connectionString: api.env.DATABASE_URL });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT id FROM purchases WHERE id = $1 FOR UPDATE', [purchaseId]);
      return await action();
    } finally {
      await lock.query('ROLLBACK');
      await lock.end();
    }
  }

  /** Writes the purchase stream's entries older than `ageSeconds` to PostgreSQL, as `batch` would with that setting. */
  async function flushOlderThan(ageSeconds: number): Promise<void> {
    const env = { ...api.app.get(Env), PURCHASE_FLUSH_AGE_SECONDS: ageSeconds } as Env;
    await flushPurchases(
      new PurchaseFlusher(api.app.get(PurchaseFlushStore), env, api.app.get(PurchaseRepository), api.app.get(Clock)),
    );
  }

  it("shows a buyer's cancel at once: CANCELED, no code, while PostgreSQL still has the ticket ACTIVE; the flush changes nothing", async () => {
    // Another performance's ticket on the same page (another Cluster slot), which stays valid.
    const kept = await buy(shows[1], 1);
    const purchase = await buy(shows[0], 2);
    await flushPurchases(api.app);
    expect(ofPurchase(await held(buyer), purchase.id)).toEqual([
      expect.objectContaining({ status: 'ACTIVE', code: expect.any(String) }),
      expect.objectContaining({ status: 'ACTIVE', code: expect.any(String) }),
    ]);
    const canceled = await withPurchaseRowLocked(purchase.id, () =>
      call('POST', `/purchases/${purchase.id}/cancel`, { session: buyer }),
    );
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(await writtenStatuses(purchase.id), 'the cancel must not be written yet').toEqual(['ACTIVE', 'ACTIVE']);

    const before = await held(buyer);
    expect(ofPurchase(before, purchase.id)).toEqual([
      expect.objectContaining({ status: 'CANCELED', code: null, received: false }),
      expect.objectContaining({ status: 'CANCELED', code: null, received: false }),
    ]);
    expect(ofPurchase(before, kept.id)).toEqual([
      expect.objectContaining({ status: 'ACTIVE', code: expect.any(String), received: false }),
    ]);
    // As the purchase's own ticket list has them.
    const listed = (await call('GET', `/purchases/${purchase.id}/tickets`, { session: buyer })).json().items;
    expect(listed.map((t: HeldTicketBody) => [t.id, t.status, t.code])).toEqual(
      ofPurchase(before, purchase.id)
        .map((t) => [t.id, t.status, t.code])
        .sort(([a], [b]) => Number(a) - Number(b)),
    );

    await flushPurchases(api.app);
    expect(await writtenStatuses(purchase.id)).toEqual(['CANCELED', 'CANCELED']);
    expect(await held(buyer)).toEqual(before);
  });

  it("shows an operator's refund at once to the holder of a transferred ticket and to the buyer; the flush changes nothing", async () => {
    const purchase = await buy(shows[0], 2);
    const other = await buy(shows[1], 1);
    await flushPurchases(api.app);
    const [given, own] = (await call('GET', `/purchases/${purchase.id}/tickets`, { session: buyer })).json().items;
    const offered = await call('POST', `/tickets/${given.id}/transfers`, {
      body: { email: friend.email },
      session: buyer,
    });
    expect(offered.statusCode, offered.body).toBe(202);
    const accepted = await call('POST', `/ticket-transfers/${offered.json().id}/accept`, { session: friend });
    expect(accepted.statusCode, accepted.body).toBe(200);
    const gift = await buy(shows[1], 1, friend);
    await flushPurchases(api.app);
    expect(ofPurchase(await held(friend), purchase.id)).toEqual([
      expect.objectContaining({ id: given.id, status: 'ACTIVE', code: expect.any(String), received: true }),
    ]);

    const refunded = await withPurchaseRowLocked(purchase.id, () =>
      call('POST', `/admin/purchases/${purchase.id}/refund`, { session: admin }),
    );
    expect(refunded.statusCode, refunded.body).toBe(200);
    expect(refunded.json()).toMatchObject({ status: 'CANCELED' });
    expect(await writtenStatuses(purchase.id), 'the refund must not be written yet').toEqual(['ACTIVE', 'ACTIVE']);

    const holders = await held(friend);
    expect(ofPurchase(holders, purchase.id)).toEqual([
      expect.objectContaining({ id: given.id, status: 'CANCELED', code: null, received: true }),
    ]);
    expect(ofPurchase(holders, gift.id)).toEqual([
      expect.objectContaining({ status: 'ACTIVE', code: expect.any(String) }),
    ]);
    const buyers = await held(buyer);
    expect(ofPurchase(buyers, purchase.id)).toEqual([
      expect.objectContaining({ id: own.id, status: 'CANCELED', code: null, received: false }),
    ]);
    expect(ofPurchase(buyers, other.id)).toEqual([
      expect.objectContaining({ status: 'ACTIVE', code: expect.any(String) }),
    ]);

    await flushPurchases(api.app);
    expect(await writtenStatuses(purchase.id)).toEqual(['CANCELED', 'CANCELED']);
    expect(await held(friend)).toEqual(holders);
    expect(await held(buyer)).toEqual(buyers);
  });

  // Steps of one purchase's life, with what `GET /tickets` must answer after each: not listed
  // before PostgreSQL has the purchase (its tickets have no ids, so no codes, yet), then ACTIVE
  // with a code until it is canceled, CANCELED without one from the cancel on, whichever store
  // has the cancellation.
  it.each([
    [['buy', 'flush']],
    [['buy', 'cancel', 'flush']],
    [['buy', 'flush', 'cancel', 'flush']],
    [['buy', 'flush', 'cancel', 'flush-nothing', 'flush']],
    [['buy', 'cancel', 'flush-nothing', 'flush']],
  ] as const)('answers after each step of %j as the purchase stands', async (steps) => {
    let purchaseId = '';
    const state = { written: false, canceled: false };
    for (const step of steps) {
      if (step === 'buy') purchaseId = (await buy(shows[0], 1)).id;
      if (step === 'cancel') {
        const canceled = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
        expect(canceled.statusCode, canceled.body).toBe(200);
        state.canceled = true;
      }
      if (step === 'flush') {
        await flushPurchases(api.app);
        state.written = true;
      }
      // A flush that writes nothing of it (its cut-off an hour back).
      if (step === 'flush-nothing') await flushOlderThan(3600);
      const mine = ofPurchase(await held(buyer), purchaseId);
      const expected = state.written
        ? [
            expect.objectContaining(
              state.canceled ? { status: 'CANCELED', code: null } : { status: 'ACTIVE', code: expect.any(String) },
            ),
          ]
        : [];
      expect(mine, `after ${step}`).toEqual(expected);
    }
  });
});
