import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doorsOpenNow, flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { createStaffSession } from './support/door';
import {
  AnswerLog,
  expectSeatsConsistent,
  fastBuyer,
  Headers,
  holdThenBuy,
  newFloorPerformance,
  RACE_API_ENV,
  redisNow,
} from './support/races';

/** A pause of 0–40 ms, so that two requests sent together reach the api in either order. */
const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 40));

/**
 * Two operator-versus-buyer pairs the other race files leave out (operator trial 2026-12-07):
 * online sales ended by a `salesCloseAt` moved into the past while buyers hold and buy, and a
 * partial refund of a seat racing the check-in of its ticket. Each ends with
 * `expectSeatsConsistent`, which must hold for a performance whose online sales ended while its
 * window still sells (its free seats `available` in the sales report until check-in closes) and
 * for seats partial refunds took off their purchases (no revenue).
 */
describe('sales ended and partial refunds racing buyers and the door (real PostgreSQL and Redis)', () => {
  let { api, db, redis, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, db, redis, admin, call, close } = await startAdminApi({
      ...RACE_API_ENV,
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    }));
  });
  afterAll(() => close?.());

  it('sells nothing online once a salesCloseAt moved into the past is answered; the window sells on', async () => {
    // 60 buyers of a seat each, and 20 seats left for the window.
    const performance = await newFloorPerformance(call, admin, 'Sales end', 80);
    const buyers = await Promise.all(Array.from({ length: 60 }, () => fastBuyer(api)));
    const log = new AnswerLog();
    const sent: { what: string; at: number; status: number }[] = [];
    let endedAt = Infinity;
    const buyer = async (headers: Headers, i: number) => {
      // Spread over the operator's change, so that holds and purchases land on both sides of it.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 200));
      const holdAt = Date.now();
      let purchaseAt = 0;
      const { held, bought } = await holdThenBuy(
        api,
        headers,
        { performanceId: performance.id, seatIds: [performance.seatIds[i]] },
        () => (purchaseAt = Date.now()),
      );
      log.note('hold', held);
      sent.push({ what: 'hold', at: holdAt, status: held.statusCode });
      if (!bought) return;
      log.note('purchase', bought);
      sent.push({ what: 'purchase', at: purchaseAt, status: bought.statusCode });
    };
    const operator = async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const salesCloseAt = new Date((await redisNow(redis)) - 1000).toISOString();
      const res = await call('PATCH', `/performances/${performance.id}`, { body: { salesCloseAt }, session: admin });
      log.note('patch salesCloseAt', res);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().salesState).toBe('ENDED');
      endedAt = Date.now();
    };
    // Two thirds race the change; the rest come once it has answered (late buyers, always refused).
    const ending = operator();
    await Promise.all([
      ending,
      ...buyers.slice(0, 40).map((headers, i) => buyer(headers, i)),
      ...buyers.slice(40).map((headers, i) => ending.then(() => buyer(headers, 40 + i))),
    ]);

    log.expectNo5xx();
    expect(
      sent.filter((request) => request.status === 201 && request.at > endedAt),
      'holds and purchases sent after the end was answered that succeeded',
    ).toEqual([]);
    expect(sent.filter((request) => request.status === 201).length, 'holds before the end').toBeGreaterThan(0);
    // Online sales have ended; the box office window sells on until check-in closes.
    const sale = await call('POST', `/box-office/performances/${performance.id}/sales`, {
      body: { seatIds: [performance.seatIds[60]], paymentMethod: 'CASH' },
      session: admin,
    });
    expect(sale.statusCode, sale.body).toBe(201);
    await flushPurchases(api.app);
    await expectSeatsConsistent(api, db, performance.id);
  });

  it('lets one of a partial refund of a seat and the check-in of its ticket win, and books no revenue for refunded seats', async () => {
    const { startsAt, checkInOpensBeforeMinutes } = doorsOpenNow();
    const performance = await newFloorPerformance(call, admin, 'Door', 40, {
      startsAt: startsAt.toISOString(),
      checkInOpensBeforeMinutes,
    });
    const staff = await createStaffSession(api.app, admin, `door-${performance.id}@example.test`);
    const buyers = await Promise.all(Array.from({ length: 20 }, () => fastBuyer(api)));
    const bought = await Promise.all(
      buyers.map(async (headers, i) => {
        const seats = [performance.seatIds[2 * i], performance.seatIds[2 * i + 1]];
        const { held, bought } = await holdThenBuy(api, headers, { performanceId: performance.id, seatIds: seats });
        expect(bought?.statusCode, held.body).toBe(201);
        return { id: bought!.json().id as string, headers, seats };
      }),
    );
    await flushPurchases(api.app);
    const log = new AnswerLog();
    const both: string[] = [];
    await Promise.all(
      bought.map(async ({ id, headers, seats }) => {
        const listed = await api.app.inject({ method: 'GET', url: `/api/v1/purchases/${id}/tickets`, headers });
        const ticket = (listed.json().items as { code: string; seat: { id: number } }[]).find(
          (item) => item.seat.id === seats[0],
        )!;
        const [refund, scan] = await Promise.all([
          jitter().then(() =>
            call('POST', `/admin/purchases/${id}/refund`, { body: { seatIds: [seats[0]] }, session: admin }),
          ),
          jitter().then(() =>
            call('POST', '/check-in', { body: { code: ticket.code, performanceId: performance.id }, session: staff }),
          ),
        ]);
        log.note('partial refund', refund);
        log.note('check-in', scan);
        if (refund.statusCode === 200 && scan.statusCode === 200) both.push(`${id}: refunded and admitted`);
        if (refund.statusCode !== 200 && scan.statusCode !== 200) both.push(`${id}: neither won`);
      }),
    );
    // A partial refund nothing races: its seat's ticket names the refund and brings no revenue.
    const quiet = bought[0];
    const refund = await call('POST', `/admin/purchases/${quiet.id}/refund`, {
      body: { seatIds: [quiet.seats[1]] },
      session: admin,
    });
    expect(refund.statusCode, refund.body).toBe(200);

    log.expectNo5xx();
    expect(both, 'purchases where a partial refund and the check-in of its seat did not exclude each other').toEqual(
      [],
    );
    await flushPurchases(api.app);
    await expectSeatsConsistent(api, db, performance.id);
  });
});
