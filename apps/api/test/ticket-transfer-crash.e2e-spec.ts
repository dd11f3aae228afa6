import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppProcess, createSession, PROCESS_TEST_TIMEOUT_MS, TestSession, waitUntil } from '@app/testing';
import { PurchaseStore } from '../../../libs/ticketing/src/purchases/purchase.store';
import { createPerformance, flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { buyTickets } from './support/door';
import { killWhileRowLocked } from './support/killed-api';

/**
 * An accept of a ticket transfer marks the seat in Redis (transfer-mark.lua) before PostgreSQL
 * records it, and the mark refuses the buyer's cancel of the purchase (409 PurchaseTransferred)
 * for as long as it lives (24 h). A built api killed between the two leaves the mark behind with
 * the offer still pending. Once that offer can never be accepted (the sender canceled it, the
 * recipient declined it, or it expired), the buyer cancels the purchase as if no accept had been tried.
 * The take-back of such a dead mark never removes the mark of a newer offer's accept made after it
 * was read (the interleaving driven through a hook before the Redis take-back).
 * Real PostgreSQL and Redis; the api process SIGKILLed while PostgreSQL holds its accept at the
 * ticket's row lock.
 */
describe('a transfer accept whose api was killed after the Redis mark (built api, real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let buyer: TestSession;
  let friend: TestSession;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;
  const processes: AppProcess[] = [];

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      TICKET_TRANSFER_OFFERS_PER_HOUR: '10000',
    }));
    buyer = await createSession(api.app, { name: 'Grace Buyer' });
    friend = await createSession(api.app, { name: 'Ada Friend' });
    // Offers need the sender's address confirmed, accepts the recipient's.
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = ANY($1)', [[buyer.id, friend.id]]);
    performance = await createPerformance(api.app, admin, 20);
  });
  afterAll(async () => {
    for (const proc of processes) proc.kill('SIGKILL');
    await Promise.all(processes.map((proc) => proc.exited));
    await close?.();
  });

  /**
   * Offers the first ticket of a fresh purchase of two seats to the friend, then has a built api
   * accept it while a transaction holds the ticket's row, and SIGKILLs that api once its accept waits on
   * the lock (the Redis mark is set by then); the lock is let go afterwards. Answers the purchase
   * and the transfer, still PENDING in PostgreSQL.
   */
  async function acceptKilledAfterMark(): Promise<{ purchaseId: string; transferId: string }> {
    const seatIds = performance.seatIds.slice(nextSeat, (nextSeat += 2));
    const { purchaseId, tickets } = await buyTickets<{ id: string }>(api.app, buyer, performance.id, seatIds);
    const offered = await call('POST', `/tickets/${tickets[0].id}/transfers`, {
      body: { email: friend.email },
      session: buyer,
    });
    expect(offered.statusCode, offered.body).toBe(202);
    const transferId = offered.json().id as string;

    await killWhileRowLocked({
      env: api.env,
      db,
      processes,
      lockSql: 'SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE',
      params: [tickets[0].id],
      request: (port) =>
        fetch(`http://127.0.0.1:${port}/api/v1/ticket-transfers/${transferId}/accept`, {
          method: 'POST',
          headers: friend.headers,
        }),
      waitsFor: 'the accept waits on the ticket row lock',
    });
    const { rows } = await db.query('SELECT status FROM ticket_transfers WHERE id = $1', [transferId]);
    expect(rows).toEqual([{ status: 'PENDING' }]);
    return { purchaseId, transferId };
  }

  it.each([
    [
      'the sender canceled the offer',
      (id: string) => call('POST', `/ticket-transfers/${id}/cancel`, { session: buyer }),
    ],
    ['the recipient declined it', (id: string) => call('POST', `/ticket-transfers/${id}/decline`, { session: friend })],
  ])(
    'once %s, the buyer cancels the purchase: the dead accept refuses nothing',
    async (_, settle) => {
      const { purchaseId, transferId } = await acceptKilledAfterMark();
      // While the offer is pending, the accept may still come (the recipient's retry): refused.
      const early = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
      expect(early.statusCode, early.body).toBe(409);
      expect(early.json().message).toMatch(/transferred/);

      const settled = await settle(transferId);
      expect(settled.statusCode, settled.body).toBe(200);
      const canceled = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
      expect(canceled.statusCode, canceled.body).toBe(200);
      expect(canceled.json()).toMatchObject({ id: purchaseId, status: 'CANCELED' });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'once the offer has expired (nobody settled it), the buyer cancels the purchase; a late accept is refused',
    async () => {
      const { purchaseId, transferId } = await acceptKilledAfterMark();
      const early = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
      expect(early.statusCode, early.body).toBe(409);
      // Its hours run out: nothing writes an expiry (it is read from expires_at).
      await db.query(`UPDATE ticket_transfers SET expires_at = now() - interval '1 second' WHERE id = $1`, [
        transferId,
      ]);

      const canceled = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
      expect(canceled.statusCode, canceled.body).toBe(200);
      expect(canceled.json()).toMatchObject({ id: purchaseId, status: 'CANCELED' });
      const { rows } = await db.query('SELECT status FROM ticket_transfers WHERE id = $1', [transferId]);
      expect(rows).toEqual([{ status: 'EXPIRED' }]);
      const late = await call('POST', `/ticket-transfers/${transferId}/accept`, { session: friend });
      expect(late.statusCode, late.body).toBe(409);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'an offer of the ticket still pending keeps the mark: the buyer is refused while its accept may come',
    async () => {
      const { purchaseId, transferId } = await acceptKilledAfterMark();
      await db.query(`UPDATE ticket_transfers SET expires_at = now() + interval '1 hour' WHERE id = $1`, [transferId]);
      const refused = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
      expect(refused.statusCode, refused.body).toBe(409);
      expect(refused.json().message).toMatch(/transferred/);
      const { rows } = await db.query('SELECT status FROM ticket_transfers WHERE id = $1', [transferId]);
      expect(rows).toEqual([{ status: 'PENDING' }]);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'a new offer accepted between the read of the dead marks and their take-back keeps its mark: the buyer is refused',
    async () => {
      const { purchaseId, transferId } = await acceptKilledAfterMark();
      const [{ id: ticketId }] = (
        await db.query('SELECT ticket_id::text AS id FROM ticket_transfers WHERE id = $1', [transferId])
      ).rows;
      // The sender's cancel reads the dead mark in PostgreSQL; before its take-back runs in Redis, the
      // ticket is offered again and that offer's accept marks the seat and waits, before its commit,
      // on the ticket's row lock (held here).
      const lock = new Client({ connectionString: api.env.DATABASE_URL });
      await lock.connect();
      const store = api.app.get(PurchaseStore);
      const takeBack = store.unmarkTransfers.bind(store);
      let secondAccept: Promise<{ statusCode: number; body: string }> | undefined;
      const interleaved = vi.spyOn(store, 'unmarkTransfers').mockImplementationOnce(async (...args) => {
        const offered = await call('POST', `/tickets/${ticketId}/transfers`, {
          body: { email: friend.email },
          session: buyer,
        });
        expect(offered.statusCode, offered.body).toBe(202);
        await lock.query('BEGIN');
        await lock.query('SELECT 1 FROM tickets WHERE id = $1 FOR UPDATE', [ticketId]);
        secondAccept = call('POST', `/ticket-transfers/${offered.json().id}/accept`, { session: friend });
        await waitUntil(
          async () =>
            (
              await db.query(
                `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
              )
            ).rowCount! > 0,
          'the second accept waits on the ticket row lock',
        );
        return takeBack(...args);
      });
      try {
        const settled = await call('POST', `/ticket-transfers/${transferId}/cancel`, { session: buyer });
        expect(settled.statusCode, settled.body).toBe(200);
        expect(interleaved).toHaveBeenCalledTimes(1);
        // The second accept's mark stands: the buyer's cancel, which reads no holder in PostgreSQL
        // yet, is refused by it.
        const refused = await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer });
        expect(refused.statusCode, refused.body).toBe(409);
        expect(refused.json().message).toMatch(/transferred/);
      } finally {
        await lock.query('ROLLBACK').catch(() => undefined);
        await lock.end();
        interleaved.mockRestore();
      }
      const accepted = await secondAccept!;
      expect(accepted.statusCode, accepted.body).toBe(200);
      await flushPurchases(api.app);
      const { rows } = await db.query(
        `SELECT t.holder_id, t.status, p.status AS purchase_status
           FROM tickets t JOIN purchases p ON p.id = t.purchase_id WHERE t.id = $1`,
        [ticketId],
      );
      expect(rows).toEqual([{ holder_id: friend.id, status: 'ACTIVE', purchase_status: 'PAID' }]);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
