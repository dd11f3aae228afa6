import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { createPerformance, flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

/**
 * Purchases name the presale they were made in (presale trial 2026-12-07, M3): the buyer's and the
 * operators' answers, the same before and after `batch` writes them; the operators' list filtered by
 * it; the door list per ticket. A presale deleted before the on-sale keeps its name on its sales.
 */
describe('purchases made in a presale (real PostgreSQL and Redis)', () => {
  let { api, db, redis, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    // Age 0: a flush pass writes everything bought so far; the test decides when it runs.
    ({ api, db, redis, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
  });
  afterAll(() => close?.());

  /** Buys `seatIds` with `accessCode` (if any) and answers the 201's body. */
  async function buy(
    session: TestSession,
    performanceId: number,
    seatIds: number[],
    accessCode?: string,
    headers: Record<string, string> = {},
  ) {
    const held = await call('POST', '/reservations', {
      session,
      body: { performanceId, seatIds, ...(accessCode ? { accessCode } : {}) },
    });
    expect(held.statusCode, held.body).toBe(201);
    const bought = await call('POST', '/purchases', { session, body: { reservationId: held.json().id }, headers });
    expect(bought.statusCode, bought.body).toBe(201);
    return { reservationId: held.json().id as string, answer: bought.json() };
  }

  it('names the presale in every purchase answer, the same before and after the flush; a deleted presale keeps its name', async () => {
    const show = await createPerformance(api.app, admin, 10);
    const [now] = await redis.time();
    const at = (seconds: number) => new Date((Number(now) + seconds) * 1000).toISOString();
    const later = await call('PATCH', `/performances/${show.id}`, { session: admin, body: { salesOpenAt: at(3600) } });
    expect(later.statusCode, later.body).toBe(200);
    const newPresale = async (name: string, code: string) => {
      const res = await call('POST', `/admin/performances/${show.id}/presales`, {
        session: admin,
        body: { name, opensAt: at(-60), closesAt: at(3600), code },
      });
      expect(res.statusCode, res.body).toBe(201);
      return { id: res.json().id as string, name };
    };
    const fans = await newPresale('Fan club', 'FANS-PRESALE-M3');
    const card = await newPresale('Card issuer', 'CARD-PRESALE-M3');
    const [alice, bob, carol, dave] = await Promise.all([1, 2, 3, 4].map(() => createSession(api.app)));
    const seats = show.seatIds;

    // The 201 names the presale, and a replay with the same Idempotency-Key answers it again.
    const key = { 'Idempotency-Key': 'presale-m3-alice' };
    const first = await buy(alice, show.id, [seats[0], seats[1]], 'fans-presale-m3', key);
    expect(first.answer.presale).toEqual(fans);
    const replay = await call('POST', '/purchases', {
      session: alice,
      body: { reservationId: first.reservationId },
      headers: key,
    });
    expect(replay.statusCode, replay.body).toBe(201);
    expect(replay.json()).toEqual(first.answer);
    const byCard = (await buy(bob, show.id, [seats[2]], 'CARD-PRESALE-M3')).answer;
    expect(byCard.presale).toEqual(card);
    // The card issuer's presale ends early (deleted before the on-sale): its sale keeps its name.
    const deleted = await call('DELETE', `/admin/performances/${show.id}/presales/${card.id}`, { session: admin });
    expect(deleted.statusCode, deleted.body).toBe(204);
    // The general on-sale: no presale, also for a hold that sent a code (ignored then).
    const opened = await call('PATCH', `/performances/${show.id}`, { session: admin, body: { salesOpenAt: at(-1) } });
    expect(opened.statusCode, opened.body).toBe(200);
    const general = (await buy(carol, show.id, [seats[3]])).answer;
    const codeIgnored = (await buy(dave, show.id, [seats[4]], 'FANS-PRESALE-M3')).answer;
    expect([general.presale, codeIgnored.presale]).toEqual([null, null]);

    const purchases = [
      { session: alice, id: first.answer.id as string, presale: fans },
      { session: bob, id: byCard.id as string, presale: card },
      { session: carol, id: general.id as string, presale: null },
      { session: dave, id: codeIgnored.id as string, presale: null },
    ];
    /** Every answer naming each purchase: the buyer's read and list, the operator's read and list. */
    const answers = async () => {
      const seen = [];
      for (const { session, id } of purchases) {
        const own = await call('GET', `/purchases/${id}`, { session });
        expect(own.statusCode, own.body).toBe(200);
        const mine = await call('GET', '/purchases', { session });
        expect(mine.statusCode, mine.body).toBe(200);
        const operators = await call('GET', `/admin/purchases/${id}`, { session: admin });
        expect(operators.statusCode, operators.body).toBe(200);
        seen.push({ own: own.json(), listed: mine.json().items, operators: operators.json() });
      }
      return seen;
    };
    const before = await answers(); // in Redis
    purchases.forEach(({ presale }, i) => {
      expect(before[i].own.presale).toEqual(presale);
      expect(before[i].listed.map((item: { presale: unknown }) => item.presale)).toEqual([presale]);
      expect(before[i].operators.presale).toEqual(presale);
    });

    await flushPurchases(api.app);
    const stored = await db.query(
      `SELECT id, presale_id::text AS "presaleId" FROM purchases WHERE performance_id = $1`,
      [show.id],
    );
    expect(new Map(stored.rows.map((row) => [row.id, row.presaleId]))).toEqual(
      new Map(purchases.map(({ id, presale }) => [id, presale?.id ?? null])),
    );
    // Read from PostgreSQL: the hashes' retention after the flush ended.
    await redis.del(...purchases.map(({ id }) => performanceKeys(show.id).purchase(id)));
    expect(await answers()).toEqual(before);

    // The operators' list: a presale's sales only, a deleted presale's too, with the other filters.
    const listed = async (query: string) => {
      const res = await call('GET', `/admin/purchases?${query}`, { session: admin });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const ids = (page: { items: { id: string }[] }) => page.items.map((item) => item.id);
    expect((await listed(`presaleId=${fans.id}`)).items).toEqual([before[0].operators]);
    expect(ids(await listed(`presaleId=${card.id}&performanceId=${show.id}`))).toEqual([byCard.id]);
    expect(ids(await listed(`presaleId=${card.id}&email=${encodeURIComponent(alice.email)}`))).toEqual([]);
    expect(ids(await listed(`presaleId=${fans.id}&email=${encodeURIComponent(alice.email)}`))).toEqual([
      first.answer.id,
    ]);
    expect(ids(await listed('presaleId=999999999'))).toEqual([]);
    // Keyset pages of the filtered list; its cursor is its own.
    const paged = await listed(`presaleId=${fans.id}&performanceId=${show.id}&limit=1`);
    expect(paged.nextCursor).toBeNull();
    const unfiltered = await listed(`performanceId=${show.id}&limit=1`);
    expect(unfiltered.nextCursor).not.toBeNull();
    const mixed = await call(
      'GET',
      `/admin/purchases?presaleId=${fans.id}&performanceId=${show.id}&limit=1&cursor=${unfiltered.nextCursor}`,
      {
        session: admin,
      },
    );
    expect(mixed.statusCode, mixed.body).toBe(400);
    for (const bad of ['abc', '0', '012', '-1', '1.5', '12345678901234567']) {
      const res = await call('GET', `/admin/purchases?presaleId=${bad}`, { session: admin });
      expect(res.statusCode, `${bad}: ${res.body}`).toBe(400);
      expect(res.json().message).toEqual(['presaleId must be a presale id: decimal digits, no sign or leading zero']);
    }

    // The door list: each ticket's presale, by id and name.
    const door = await call('GET', `/performances/${show.id}/attendees`, { session: admin });
    expect(door.statusCode).toBe(200);
    const [header, ...rows]: string[][] = parse(door.rawPayload, { bom: true });
    const column = (name: string) => header.indexOf(name);
    expect(rows.map((row) => [row[column('seat')], row[column('presale_id')], row[column('presale_name')]])).toEqual([
      ['1', fans.id, 'Fan club'],
      ['2', fans.id, 'Fan club'],
      ['3', card.id, 'Card issuer'],
      ['4', '', ''],
      ['5', '', ''],
    ]);
  });
});
