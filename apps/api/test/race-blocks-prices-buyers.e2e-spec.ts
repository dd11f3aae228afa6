import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppProcess, PROCESS_TEST_TIMEOUT_MS } from '@app/testing';
import { HoldSweeper, PaymentGateway, PurchaseFlusher, SeatReconciler } from '@app/ticketing';
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

const SECTIONS = [
  { name: 'Floor', grade: 'A', price: 1000, rows: 6, seatsPerRow: 20 },
  { name: 'Balcony', grade: 'B', price: 500, rows: 4, seatsPerRow: 20 },
];
const BUYERS = 200;

/**
 * Operators racing buyers on one performance: blocks and releases (by id, by place, all or
 * nothing and `onlyFree`) and section price changes, while 200 buyers hold (seat ids and best
 * available), buy, release and cancel, and the flusher, the seat reconciler and the hold sweeper
 * (batch's loops, run here) work meanwhile. Afterwards: no 5xx, no seat sold twice or in two
 * holds, no blocked seat sold, counts in step everywhere, every 201 purchase in PostgreSQL at the
 * amount and prices its hold answered, every charge settled (P1, P2, P4, P7, P9).
 */
describe('blocks and prices racing buyers (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  const ledger = new RefundLedger();

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi({
      ...RACE_API_ENV,
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      PAYMENT_RECONCILE_AFTER_SECONDS: '1',
      MAX_SEATS_PER_RESERVATION: '4',
    }));
    ledger.install(api.app.get(PaymentGateway));
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await close?.();
  });

  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

  const batches: AppProcess[] = [];
  afterAll(async () => {
    for (const batch of batches) batch.kill('SIGKILL');
    await Promise.all(batches.map((batch) => batch.exited));
  });

  /** Two `batch` processes on the api's environment, flushing, sweeping and reconciling at once. */
  async function startBatches(): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const batch = new AppProcess('batch', {
        ...api.env,
        PURCHASE_FLUSH_AGE_SECONDS: '0',
        PAYMENT_RECONCILE_AFTER_SECONDS: '1',
        SEAT_RECONCILE_INTERVAL_SECONDS: '1',
      });
      batches.push(batch);
      await batch.waitForLine('batch started');
    }
  }

  it.each([
    ['batch’s loops run in this process, step by step', false],
    ['two batch processes run beside it', true],
  ])(
    'keeps every promise while blocks, releases and price changes race 200 buyers (%s)',
    async (_, withBatch) => {
      if (withBatch) await startBatches();
      const event = await call('POST', '/events', { body: { title: 'Races', venue: 'Hall' }, session: admin });
      const created = await call('POST', `/events/${event.json().id}/performances`, {
        body: { startsAt: '2030-01-01T19:00:00Z', salesOpenAt: '2020-01-01T00:00:00Z', sections: SECTIONS },
        session: admin,
      });
      expect(created.statusCode, created.body).toBe(201);
      const performanceId = created.json().id as number;
      const seats = (
        await db.query('SELECT id, section, row, number FROM seats WHERE performance_id = $1 ORDER BY id', [
          performanceId,
        ])
      ).rows as { id: number; section: string; row: number; number: number }[];
      const buyers: Headers[] = await Promise.all(Array.from({ length: BUYERS }, () => fastBuyer(api)));

      const log = new AnswerLog();
      const sold = new Map<string, { amount: number; prices: Map<number, number> }>();
      const priceMismatches: string[] = [];
      let running = true;
      // Nothing was lost in this test: a repair the reconciler makes meanwhile overruled a live write.
      const repairs: unknown[] = [];

      const buyerRun = async (headers: Headers) => {
        const section = pick(SECTIONS);
        let body: Record<string, unknown>;
        if (Math.random() < 0.5) {
          const row = 1 + Math.floor(Math.random() * section.rows);
          const start = 1 + Math.floor(Math.random() * (section.seatsPerRow - 1));
          const ids = seats
            .filter(
              (s) => s.section === section.name && s.row === row && (s.number === start || s.number === start + 1),
            )
            .map((s) => s.id);
          body = { performanceId, seatIds: ids };
        } else {
          body = { performanceId, quantity: 2, section: section.name, together: Math.random() < 0.5 };
        }
        const held = await api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload: body });
        log.note('hold', held);
        if (held.statusCode !== 201) return;
        const hold = held.json();
        // All or nothing, and one price per section at the instant of the hold (wholly old or new).
        expect(hold.seatIds.length).toBe(2);
        const holdPrices = new Map<number, number>(
          hold.seats.map((seat: { seatId: number; price: number }) => [seat.seatId, seat.price]),
        );
        expect(hold.amount).toBe([...holdPrices.values()].reduce((a, b) => a + b, 0));
        const roll = Math.random();
        if (roll < 0.15) {
          log.note(
            'release',
            await api.app.inject({ method: 'DELETE', url: `/api/v1/reservations/${hold.id}`, headers }),
          );
          return;
        }
        const bought = await api.app.inject({
          method: 'POST',
          url: '/api/v1/purchases',
          headers,
          payload: { reservationId: hold.id },
        });
        log.note('purchase', bought);
        if (bought.statusCode !== 201) return;
        const purchase = bought.json();
        const paid = new Map<number, number>(
          purchase.seats.map((seat: { seatId: number; price: number }) => [seat.seatId, seat.price]),
        );
        if (purchase.amount !== hold.amount || JSON.stringify([...paid]) !== JSON.stringify([...holdPrices])) {
          priceMismatches.push(`hold ${hold.amount} ${JSON.stringify([...holdPrices])}; purchase ${purchase.amount}`);
        }
        sold.set(purchase.id, { amount: hold.amount, prices: holdPrices });
        if (roll > 0.85) {
          log.note(
            'cancel',
            await api.app.inject({ method: 'POST', url: `/api/v1/purchases/${purchase.id}/cancel`, headers }),
          );
        }
      };

      const adminRun = async (operations: number) => {
        for (let i = 0; i < operations; i++) {
          const section = pick(SECTIONS);
          const rowLabel = String.fromCharCode(64 + 1 + Math.floor(Math.random() * section.rows));
          const ids = Array.from({ length: 3 }, () => pick(seats).id).filter((id, k, all) => all.indexOf(id) === k);
          const kind = pick(['blockIds', 'blockIdsFree', 'blockPlace', 'releaseIds', 'releasePlace', 'price']);
          const base = `/admin/performances/${performanceId}/seat-blocks`;
          const res =
            kind === 'blockIds'
              ? await call('POST', base, { body: { seatIds: ids, reason: 'camera' }, session: admin })
              : kind === 'blockIdsFree'
                ? await call('POST', base, { body: { seatIds: ids, onlyFree: true }, session: admin })
                : kind === 'blockPlace'
                  ? await call('POST', base, {
                      body: { section: section.name, rows: [rowLabel], numbers: { from: 1, to: 6 }, onlyFree: true },
                      session: admin,
                    })
                  : kind === 'releaseIds'
                    ? await call('POST', `${base}/release`, { body: { seatIds: ids }, session: admin })
                    : kind === 'releasePlace'
                      ? await call('POST', `${base}/release`, {
                          body: { section: section.name, rows: [rowLabel] },
                          session: admin,
                        })
                      : await call('PATCH', `/performances/${performanceId}/sections/${section.name}`, {
                          body: { price: section.price + 10 * Math.floor(Math.random() * 50) },
                          session: admin,
                        });
          log.note(kind, res);
          expect([200, 409], `${kind} ${res.body}`).toContain(res.statusCode);
        }
      };

      const background = async () => {
        const flusher = api.app.get(PurchaseFlusher);
        const reconciler = api.app.get(SeatReconciler);
        const sweeper = api.app.get(HoldSweeper);
        while (running && !withBatch) {
          await flusher.flushOnce({ batchSize: 50 });
          repairs.push(...(await reconciler.reconcilePerformance(performanceId)).repairs);
          await sweeper.sweepOnce();
        }
      };

      const loops = background();
      await Promise.all([...buyers.map(buyerRun), adminRun(40), adminRun(40)]);
      running = false;
      await loops;

      log.expectNo5xx();
      // A pass between a release's commit and its Redis write leaves the seat to that write
      // (RELEASE_SETTLE_SECONDS): nothing was lost, so nothing is repaired.
      expect(repairs, 'seat repairs made while nothing was lost').toEqual([]);
      expect(priceMismatches, 'purchases charging another amount than their hold answered').toEqual([]);
      expect(log.answers.filter((a) => a.what === 'purchase' && a.status === 201).length).toBeGreaterThan(20);

      await flushPurchases(api.app);
      await reconcileUntilSettled(api, db, [...sold.keys()]);
      ledger.expectMoneyMovedOnce();
      await expectSeatsConsistent(api, db, performanceId);
      await expectPurchasesPersisted(db, performanceId, sold);
      // The reconciler, once more on the settled state, finds nothing to repair.
      expect(await api.app.get(SeatReconciler).reconcilePerformance(performanceId)).toMatchObject({ repairs: [] });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
