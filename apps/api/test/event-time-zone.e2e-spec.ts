import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from '@app/testing';
import { flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { AnswerLog, fastBuyer, RACE_API_ENV } from './support/races';
import { createShowOfSections } from './support/shows';

const TTL_SECONDS = 300;
const ROUNDS = 12;
const BUYERS = 4;

/**
 * An event's time zone is fixed once a buyer was told a time in it (real PostgreSQL and Redis):
 * changed freely before any sale or hold, refused (409 TimeZoneFixed) after a hold, a purchase, and
 * a purchase canceled since; and a PATCH of it racing buyers either lands before any hold (every
 * hold of the round made after the PATCH was sent) or is refused.
 */
describe('an event time zone fixed by its sales (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi({
      ...RACE_API_ENV,
      PURCHASE_FLUSH_AGE_SECONDS: '0',
      RESERVATION_TTL_SECONDS: String(TTL_SECONDS),
    }));
  });
  afterAll(() => close?.());

  async function show(title: string, timeZone: string, seats: number) {
    const { id, seats: bySection } = await createShowOfSections(call, admin, {
      title,
      performance: { startsAt: '2030-03-01T10:00:00Z' },
      sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: seats }],
    });
    const performance = (await call('GET', `/performances/${id}`)).json();
    const event = await call('PATCH', `/events/${performance.eventId}`, { body: { timeZone }, session: admin });
    expect(event.statusCode, event.body).toBe(200);
    return { performanceId: id, eventId: performance.eventId as number, seatIds: bySection.Floor };
  }

  const changeZone = (eventId: number, timeZone: string) =>
    call('PATCH', `/events/${eventId}`, { body: { timeZone }, session: admin });

  it('changes freely before any sale; refused after a hold, a purchase and a canceled purchase, saying to move the performance', async () => {
    const { performanceId, eventId, seatIds } = await show('Seoul first', 'Asia/Seoul', 4);
    expect((await call('GET', `/performances/${performanceId}`)).json().startsAtLocal).toBe(
      '2030-03-01T19:00:00+09:00',
    );
    const moved = await changeZone(eventId, 'America/New_York');
    expect(moved.statusCode, moved.body).toBe(200);
    expect((await call('GET', `/performances/${performanceId}`)).json()).toMatchObject({
      timeZone: 'America/New_York',
      startsAtLocal: '2030-03-01T05:00:00-05:00',
    });

    const buyer = await createSession(api.app);
    const held = await call('POST', '/reservations', {
      body: { performanceId, seatIds: [seatIds[0]] },
      session: buyer,
    });
    expect(held.statusCode, held.body).toBe(201);
    const refused = await changeZone(eventId, 'Europe/Berlin');
    expect(refused.statusCode, refused.body).toBe(409);
    expect(Object.keys(refused.json()).sort()).toEqual(
      ['details', 'error', 'message', 'path', 'requestId', 'statusCode', 'timestamp'].sort(),
    );
    expect(refused.json().message).toBe(
      `timeZone cannot be changed: performance ${performanceId} of this event has tickets sold or held, and its ` +
        'buyers were told its times in America/New_York (its start: Fri 2030-03-01 05:00 UTC-05:00 (America/New_York)). ' +
        `If a start was entered wrong, move that performance instead (PATCH /api/v1/performances/${performanceId} ` +
        "with startsAtLocal, the venue's wall clock, or startsAt): its buyers are told the new date",
    );
    expect(refused.json().details).toEqual({ performanceId, timeZone: 'America/New_York' });
    expect((await call('GET', `/events/${eventId}`)).json().timeZone).toBe('America/New_York');

    // Sales were not left closed by the refused change: the hold is bought.
    const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    expect((await changeZone(eventId, 'Europe/Berlin')).statusCode).toBe(409);
    // The same zone in another spelling is no change; other fields still change.
    expect((await changeZone(eventId, 'US/Eastern')).statusCode).toBe(200);
    const retitled = await call('PATCH', `/events/${eventId}`, { body: { title: 'Seoul, renamed' }, session: admin });
    expect(retitled.statusCode, retitled.body).toBe(200);

    // Canceled and written to PostgreSQL: buyers were still told the time.
    const canceled = await call('POST', `/purchases/${bought.json().id}/cancel`, { session: buyer });
    expect(canceled.statusCode, canceled.body).toBe(200);
    await flushPurchases(api.app);
    expect((await call('GET', `/performances/${performanceId}`)).json()).toMatchObject({ sold: 0, held: 0 });
    const afterCancel = await changeZone(eventId, 'Europe/Berlin');
    expect(afterCancel.statusCode, afterCancel.body).toBe(409);
    expect((await call('GET', `/events/${eventId}`)).json().timeZone).toBe('America/New_York');
  });

  it('a time zone change racing buyers lands before every hold of the round or is refused', async () => {
    const log = new AnswerLog();
    const outcomes: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const { performanceId, eventId, seatIds } = await show(`Race ${round}`, 'UTC', BUYERS + 1);
      const buyers = await Promise.all(Array.from({ length: BUYERS }, () => fastBuyer(api)));
      const holdsAt: number[] = [];
      const buy = async (i: number) => {
        const { userId: _userId, ...headers } = buyers[i];
        const held = await call('POST', '/reservations', {
          body: { performanceId, seatIds: [seatIds[i]] },
          headers,
        });
        log.note('hold', held);
        if (held.statusCode !== 201) {
          expect(held.statusCode, held.body).toBe(409);
          return;
        }
        holdsAt.push(Date.parse(held.json().expiresAt) - TTL_SECONDS * 1000);
        const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, headers });
        log.note('purchase', bought);
        expect(bought.statusCode, bought.body).toBe(201);
      };
      let sentAt = 0;
      const patch = async () => {
        sentAt = Date.now();
        const answer = await changeZone(eventId, 'Asia/Seoul');
        log.note('patch', answer);
        return answer;
      };
      // Variants: all at once; the change after the first hold answered; after the first purchase.
      const variant = round % 3;
      const first = variant === 0 ? Promise.resolve() : buy(0);
      const changed = (variant === 0 ? Promise.resolve() : first).then(patch);
      await Promise.all([
        first,
        changed,
        ...Array.from({ length: BUYERS }, (_, i) => i)
          .slice(variant === 0 ? 0 : 1)
          .map(buy),
      ]);
      const answer = await changed;
      outcomes.push(answer.statusCode);
      const zone = (await call('GET', `/events/${eventId}`)).json().timeZone;
      if (answer.statusCode === 200) {
        // Every hold of the round came after the change was sent (none could slip in before its commit).
        expect(zone).toBe('Asia/Seoul');
        for (const at of holdsAt) expect(at, `round ${round}`).toBeGreaterThanOrEqual(sentAt);
      } else {
        expect(answer.statusCode, answer.body).toBe(409);
        expect(answer.json().details.performanceId).toBe(performanceId);
        expect(zone).toBe('UTC');
        expect(holdsAt.length, `round ${round}`).toBeGreaterThan(0);
      }
      // Sales are open again whatever the outcome: the spare seat is held.
      const spare = await call('POST', '/reservations', {
        body: { performanceId, seatIds: [seatIds[BUYERS]] },
        session: admin,
      });
      expect(spare.statusCode, spare.body).toBe(201);
    }
    log.expectNo5xx();
    // The variants after a hold or a purchase are refused every time.
    expect(outcomes.filter((status, round) => round % 3 !== 0 && status !== 409)).toEqual([]);
  });
});
