import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TestSession, waitUntil } from '@app/testing';
import { performanceKeys, SeatStateStore } from '@app/ticketing';
import { createPerformance } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { expectUniform } from './support/http';

/** Redis TIME in epoch ms: the clock the hold scripts compare presale windows with. */
async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * Presales with access codes on real PostgreSQL and Redis: an operator's window before the
 * general on-sale in which a hold needs the presale's code, the code never shown again, the
 * purchase of a presale's hold, a rebuild of the performance's Redis state keeping the presale,
 * the general on-sale ignoring codes, and the admin routes' validation and ownership.
 */
describe('presales with access codes (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let buyer: TestSession;
  let other: TestSession;
  let redis: Redis;

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi());
    buyer = await createSession(api.app);
    other = await createSession(api.app);
    redis = api.app.get(Redis);
  });
  afterAll(() => close?.());

  /** A performance of `seats` seats whose general on-sale is an hour away (by Redis TIME). */
  async function beforeOnSale(seats: number) {
    const performance = await createPerformance(api.app, admin, seats);
    const salesOpenAt = new Date((await redisNow(redis)) + 3_600_000).toISOString();
    const moved = await call('PATCH', `/performances/${performance.id}`, { body: { salesOpenAt }, session: admin });
    expect(moved.statusCode, moved.body).toBe(200);
    return { ...performance, salesOpenAt };
  }

  const hold = (session: TestSession, body: object) => call('POST', '/reservations', { body, session });

  it('runs a presale from creation to the general on-sale, through a rebuild of the Redis state', async () => {
    const performance = await beforeOnSale(10);
    const [s1, s2, s3, s4, s5, s6] = performance.seatIds;
    // Opens 15 s ahead: room for the reads and the hold before it (checked below) on a loaded CI host.
    const opensAt = new Date((await redisNow(redis)) + 15_000);
    const created = await call('POST', `/admin/performances/${performance.id}/presales`, {
      body: {
        name: 'Fan club: early',
        opensAt: opensAt.toISOString(),
        closesAt: performance.salesOpenAt,
        code: 'FanClub-2027',
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const presale = created.json();
    expect(presale).toEqual({
      id: expect.stringMatching(/^[1-9][0-9]*$/),
      name: 'Fan club: early',
      opensAt: opensAt.toISOString(),
      closesAt: performance.salesOpenAt,
      maxSeats: null,
      seatsTaken: 0,
    });
    // Buyers see the window only.
    const window = { id: presale.id, name: presale.name, opensAt: presale.opensAt, closesAt: presale.closesAt };

    // Reads show the window, never the code (nor its digest).
    const detail = await call('GET', `/performances/${performance.id}`);
    expect(detail.json().presales).toEqual([window]);
    expect(detail.body).not.toMatch(/fanclub/i);
    const listed = await call('GET', `/admin/performances/${performance.id}/presales`, { session: admin });
    expect(listed.json()).toEqual({ items: [presale] });
    expect(listed.body).not.toMatch(/fanclub|code/i);
    const page = await call('GET', `/events/${detail.json().eventId}/performances`);
    expect(page.json().items[0].presales).toEqual([window]);

    // Before the window: as before any on-sale, whatever the code.
    const early = await hold(buyer, { performanceId: performance.id, seatIds: [s1], accessCode: 'FANCLUB-2027' });
    expect(await redisNow(redis), 'the early hold answered before the window opened').toBeLessThan(opensAt.getTime());
    expect(expectUniform(early, 403)).toMatchObject({
      message: `sales open at ${performance.salesOpenAt}`,
      details: { salesOpenAt: performance.salesOpenAt },
    });

    // In the window: without a code, a SalesNotOpen naming the presale.
    let missing = early;
    await waitUntil(async () => {
      missing = await hold(buyer, { performanceId: performance.id, seatIds: [s1] });
      return missing.json().details?.presales !== undefined;
    }, 'the presale window to open');
    expect(expectUniform(missing, 403)).toMatchObject({
      message: `a presale is on (Fan club: early): send its access code (accessCode); general sales open at ${performance.salesOpenAt}`,
      details: { salesOpenAt: performance.salesOpenAt, presales: [{ id: presale.id, name: 'Fan club: early' }] },
    });
    // A wrong code: its own refusal, nothing held (both forms).
    const wrong = await hold(buyer, { performanceId: performance.id, seatIds: [s1], accessCode: 'FANCLUB-2028' });
    expect(expectUniform(wrong, 403)).toMatchObject({ details: { code: 'AccessCodeInvalid' } });
    const wrongBest = await hold(buyer, { performanceId: performance.id, quantity: 1, accessCode: 'nope-nope' });
    expect(expectUniform(wrongBest, 403)).toMatchObject({ details: { code: 'AccessCodeInvalid' } });
    // Not a code at all (white space inside, too short or long, not ASCII): 400, nothing held.
    for (const accessCode of ['FANCLUB 2027', 'abc', ' abc ', 'x'.repeat(65), 'FANCLUB-2027é', '']) {
      const malformed = await hold(buyer, { performanceId: performance.id, seatIds: [s1], accessCode });
      expect(expectUniform(malformed, 400).message, accessCode).toContain(
        'accessCode must be 4-64 printable ASCII characters without spaces',
      );
    }
    expect(await api.app.get(SeatStateStore).statuses(performance.id, [s1])).toEqual(['AVAILABLE']);

    // The right code, in any case: held as usual, and bought before the on-sale.
    const held = await hold(buyer, { performanceId: performance.id, seatIds: [s1], accessCode: 'fanclub-2027' });
    expect(held.statusCode, held.body).toBe(201);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    expect(bought.json()).toMatchObject({ status: 'PAID', seatIds: [s1] });
    // Pasted with white space around it (a space, a line break): the same code (both forms).
    const best = await hold(other, { performanceId: performance.id, quantity: 2, accessCode: ' FANCLUB-2027\n' });
    expect(best.statusCode, best.body).toBe(201);

    // Redis loses the performance: the rebuild from PostgreSQL brings the presale back.
    await api.app.get(SeatStateStore).removePerformance(performance.id);
    expect(await redis.exists(performanceKeys(performance.id).meta)).toBe(0);
    const afterLossMissing = await hold(buyer, { performanceId: performance.id, seatIds: [s2] });
    expect(expectUniform(afterLossMissing, 403)).toMatchObject({ details: { presales: [{ id: presale.id }] } });
    const afterLoss = await hold(buyer, {
      performanceId: performance.id,
      seatIds: [s2],
      accessCode: '\tFanClub-2027 ',
    });
    expect(afterLoss.statusCode, afterLoss.body).toBe(201);

    // Deleted while a hold it let in is live: no new hold gets in, the live one is still bought.
    const kept = await hold(other, { performanceId: performance.id, seatIds: [s3], accessCode: 'FANCLUB-2027' });
    expect(kept.statusCode, kept.body).toBe(201);
    const deleted = await call('DELETE', `/admin/performances/${performance.id}/presales/${presale.id}`, {
      session: admin,
    });
    expect(deleted.statusCode, deleted.body).toBe(204);
    const gone = await hold(buyer, { performanceId: performance.id, seatIds: [s4], accessCode: 'FANCLUB-2027' });
    expect(expectUniform(gone, 403)).toMatchObject({ message: `sales open at ${performance.salesOpenAt}` });
    expect(gone.json().details.presales).toBeUndefined();
    expect((await call('GET', `/performances/${performance.id}`)).json().presales).toEqual([]);
    const keptBought = await call('POST', '/purchases', { body: { reservationId: kept.json().id }, session: other });
    expect(keptBought.statusCode, keptBought.body).toBe(201);
    const again = await call('DELETE', `/admin/performances/${performance.id}/presales/${presale.id}`, {
      session: admin,
    });
    expectUniform(again, 404);

    // The audit log names both changes, never the code.
    const audit = await call('GET', `/admin/audit-log?performanceId=${performance.id}`, { session: admin });
    const actions = audit.json().items.map((item: { action: string }) => item.action);
    expect(actions).toEqual(expect.arrayContaining(['presale.create', 'presale.delete']));
    expect(audit.body).not.toMatch(/fanclub/i);

    // A second presale, then the general on-sale: codes are ignored, the presale no longer changes.
    const second = await call('POST', `/admin/performances/${performance.id}/presales`, {
      body: {
        name: 'Card holders',
        opensAt: new Date((await redisNow(redis)) - 60_000).toISOString(),
        closesAt: performance.salesOpenAt,
        code: 'CARD-0001',
      },
      session: admin,
    });
    expect(second.statusCode, second.body).toBe(201);
    const onSale = await call('PATCH', `/performances/${performance.id}`, {
      body: { salesOpenAt: new Date((await redisNow(redis)) - 1_000).toISOString() },
      session: admin,
    });
    expect(onSale.statusCode, onSale.body).toBe(200);
    const plain = await hold(buyer, { performanceId: performance.id, seatIds: [s5] });
    expect(plain.statusCode, plain.body).toBe(201);
    const ignored = await hold(other, { performanceId: performance.id, seatIds: [s6], accessCode: 'not-a-code' });
    expect(ignored.statusCode, ignored.body).toBe(201);
    const late = await call('DELETE', `/admin/performances/${performance.id}/presales/${second.json().id}`, {
      session: admin,
    });
    expect(expectUniform(late, 409).message).toBe('sales have opened: presales no longer change');
    const lateCreate = await call('POST', `/admin/performances/${performance.id}/presales`, {
      body: { name: 'Late', opensAt: '2030-01-01T00:00:00Z', closesAt: '2030-01-02T00:00:00Z', code: 'LATE-CODE' },
      session: admin,
    });
    expectUniform(lateCreate, 409);
  }, 120_000);

  it('refuses bad presales with a 400 and changes nothing', async () => {
    const performance = await beforeOnSale(1);
    const now = await redisNow(redis);
    const at = (ms: number) => new Date(now + ms).toISOString();
    const valid = { name: 'Presale', opensAt: at(60_000), closesAt: performance.salesOpenAt, code: 'GOOD-CODE' };
    const cases: [string, object, string | RegExp][] = [
      ['no name', { ...valid, name: undefined }, /name/],
      ['an empty name', { ...valid, name: '   ' }, /name/],
      ['a name over 100 characters', { ...valid, name: 'x'.repeat(101) }, /name/],
      ['a name with a control character', { ...valid, name: 'a\u0007b' }, /name/],
      ['opensAt without an offset', { ...valid, opensAt: '2030-01-01T10:00:00' }, /opensAt/],
      ['closesAt not a time', { ...valid, closesAt: 'tomorrow' }, /closesAt/],
      ['opensAt after closesAt', { ...valid, opensAt: at(120_000), closesAt: at(60_000) }, /opensAt must be before/],
      ['opensAt equal to closesAt', { ...valid, opensAt: at(60_000), closesAt: at(60_000) }, /opensAt must be before/],
      ['closesAt after salesOpenAt', { ...valid, closesAt: at(7_200_000) }, /salesOpenAt/],
      ['closesAt in the past', { ...valid, opensAt: at(-120_000), closesAt: at(-60_000) }, /future/],
      ['a code of 3 characters', { ...valid, code: 'abc' }, /code/],
      ['a code of 7 characters', { ...valid, code: 'abcdefg' }, /code must be 8-64/],
      ['a code of 65 characters', { ...valid, code: 'c'.repeat(65) }, /code/],
      ['a code with a space', { ...valid, code: 'two words' }, /code/],
      ['a code not a string', { ...valid, code: 12345 }, /code/],
      ['an unknown field', { ...valid, extra: 1 }, /extra/],
    ];
    for (const [what, body, message] of cases) {
      const res = await call('POST', `/admin/performances/${performance.id}/presales`, { body, session: admin });
      const error = expectUniform(res, 400);
      expect(JSON.stringify(error.message), what).toMatch(message);
    }
    const listed = await call('GET', `/admin/performances/${performance.id}/presales`, { session: admin });
    expect(listed.json()).toEqual({ items: [] });
    expect(await redis.hkeys(performanceKeys(performance.id).meta)).not.toContainEqual(
      expect.stringMatching(/^presale:/),
    );

    // A code taken already (in any case) is a 409; a hold's malformed accessCode a 400.
    const first = await call('POST', `/admin/performances/${performance.id}/presales`, { body: valid, session: admin });
    expect(first.statusCode, first.body).toBe(201);
    const dup = await call('POST', `/admin/performances/${performance.id}/presales`, {
      body: { ...valid, name: 'Other', code: 'good-code' },
      session: admin,
    });
    expect(expectUniform(dup, 409).message).toBe('another presale of this performance has this access code');
    for (const accessCode of ['abc', 'has space', 7, 'x'.repeat(65)]) {
      for (const form of [{ seatIds: performance.seatIds }, { quantity: 1 }]) {
        const res = await hold(buyer, { performanceId: performance.id, ...form, accessCode });
        expect(JSON.stringify(expectUniform(res, 400).message)).toMatch(/accessCode/);
      }
    }
    expectUniform(await call('GET', '/admin/performances/2147483647/presales', { session: admin }), 404);
    expectUniform(await call('POST', '/admin/performances/2147483647/presales', { body: valid, session: admin }), 404);
    expectUniform(await call('DELETE', `/admin/performances/${performance.id}/presales/abc`, { session: admin }), 404);
  });

  it('refuses any access code for the performance after 10 wrong ones in 15 minutes (429), per user, holding nothing', async () => {
    const performance = await beforeOnSale(4);
    const [s1, s2] = performance.seatIds;
    const opensAt = new Date((await redisNow(redis)) - 1_000).toISOString();
    const created = await call('POST', `/admin/performances/${performance.id}/presales`, {
      body: { name: 'Guarded', opensAt, closesAt: performance.salesOpenAt, code: 'GUARDED-2027' },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const guesser = await createSession(api.app);
    // Ten wrong codes, in both forms: each its own 403, counted.
    for (let i = 0; i < 10; i++) {
      const form = i % 2 === 0 ? { seatIds: [s1] } : { quantity: 1 };
      const wrong = await hold(guesser, { performanceId: performance.id, ...form, accessCode: `GUESS-${1000 + i}` });
      expect(expectUniform(wrong, 403), `guess ${i + 1}`).toMatchObject({ details: { code: 'AccessCodeInvalid' } });
    }
    // The eleventh, even the right code, in either form: 429 before the code is looked at.
    for (const form of [{ seatIds: [s1] }, { quantity: 1 }]) {
      const locked = await hold(guesser, { performanceId: performance.id, ...form, accessCode: 'GUARDED-2027' });
      expect(expectUniform(locked, 429)).toMatchObject({
        details: { code: 'TooManyAccessCodeAttempts', perWindow: 10, windowMinutes: 15 },
      });
      const retryAfter = Number(locked.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(14 * 60);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }
    // Without a code, the usual refusal: nothing more is asked of a hold without one.
    const plain = await hold(guesser, { performanceId: performance.id, seatIds: [s1] });
    expect(expectUniform(plain, 403)).toMatchObject({ details: { presales: [{ name: 'Guarded' }] } });
    // Nothing was held by any of them, and another user's code still works.
    const counts = await redis.hgetall(performanceKeys(performance.id).counts);
    expect(counts).toMatchObject({ held: '0', available: '4' });
    const fine = await hold(other, { performanceId: performance.id, seatIds: [s2], accessCode: 'guarded-2027' });
    expect(fine.statusCode, fine.body).toBe(201);
  });

  it('answers the right code tried before its presale opens 403 PresaleNotOpen with its window, counting no miss (presale trial 2026-12-07)', async () => {
    const performance = await beforeOnSale(4);
    const now = await redisNow(redis);
    const window = (from: number, to: number) => ({
      opensAt: new Date(now + from).toISOString(),
      closesAt: new Date(now + to).toISOString(),
    });
    const path = `/admin/performances/${performance.id}/presales`;
    const fans = await call('POST', path, {
      body: { name: 'Fans', ...window(-1_000, 600_000), code: 'FANS-EARLY-1' },
      session: admin,
    });
    const cards = await call('POST', path, {
      body: { name: 'Card holders', ...window(300_000, 600_000), code: 'CARDS-EARLY-1' },
      session: admin,
    });
    expect([fans.statusCode, cards.statusCode], cards.body).toEqual([201, 201]);
    const fan = await createSession(api.app);
    // Refreshing before the hour, more often than the wrong-code limit: told when, never locked out.
    for (let i = 0; i < 11; i++) {
      const form = i % 2 === 0 ? { seatIds: [performance.seatIds[0]] } : { quantity: 1 };
      const early = await hold(fan, { performanceId: performance.id, ...form, accessCode: 'cards-early-1' });
      expect(expectUniform(early, 403), `try ${i + 1}`).toMatchObject({
        message: `the access code is that of the presale Card holders, which opens at ${window(300_000, 600_000).opensAt}`,
        details: {
          code: 'PresaleNotOpen',
          presale: { id: cards.json().id, name: 'Card holders', ...window(300_000, 600_000) },
        },
      });
    }
    const counts = await redis.hgetall(performanceKeys(performance.id).counts);
    expect(counts).toMatchObject({ held: '0', available: '4' });
    const fine = await hold(fan, { performanceId: performance.id, quantity: 1, accessCode: 'FANS-EARLY-1' });
    expect(fine.statusCode, fine.body).toBe(201);
  });

  it('lets only admins create, list and delete presales (403), and no one once the performance is canceled (409)', async () => {
    const performance = await beforeOnSale(1);
    const body = {
      name: 'Presale',
      opensAt: new Date((await redisNow(redis)) + 60_000).toISOString(),
      closesAt: performance.salesOpenAt,
      code: 'ADMIN-ONLY',
    };
    const made = await call('POST', `/admin/performances/${performance.id}/presales`, { body, session: admin });
    expect(made.statusCode, made.body).toBe(201);
    const path = `/admin/performances/${performance.id}/presales`;
    expectUniform(await call('POST', path, { body: { ...body, code: 'BUYER-CODE' }, session: buyer }), 403);
    expectUniform(await call('GET', path, { session: buyer }), 403);
    expectUniform(await call('DELETE', `${path}/${made.json().id}`, { session: buyer }), 403);
    expectUniform(await call('GET', path), 401);
    const listed = await call('GET', path, { session: admin });
    expect(listed.json().items.map((p: { id: string }) => p.id)).toEqual([made.json().id]);

    // A canceled performance's presales change no more (409), though listed still.
    const canceled = await call('POST', `/admin/performances/${performance.id}/cancel`, { session: admin });
    expect(canceled.statusCode, canceled.body).toBeLessThan(300);
    const refused = await call('POST', path, { body: { ...body, code: 'AFTER-CANCEL' }, session: admin });
    expect(expectUniform(refused, 409).message).toMatch(/canceled/);
    expectUniform(await call('DELETE', `${path}/${made.json().id}`, { session: admin }), 409);
    expect((await call('GET', path, { session: admin })).json().items).toHaveLength(1);
  });

  it('sells no seat twice while many buyers with the right code race for few seats in the presale', async () => {
    const performance = await beforeOnSale(3);
    const created = await call('POST', `/admin/performances/${performance.id}/presales`, {
      body: {
        name: 'Race',
        opensAt: new Date((await redisNow(redis)) - 1_000).toISOString(),
        closesAt: performance.salesOpenAt,
        code: 'RACE-CODE',
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const buyers = await Promise.all(Array.from({ length: 16 }, () => createSession(api.app)));
    const results = await Promise.all(
      buyers.map(async (session, i) => {
        const body =
          i % 2 === 0
            ? { performanceId: performance.id, quantity: 1, accessCode: 'race-code' }
            : { performanceId: performance.id, seatIds: [performance.seatIds[i % 3]], accessCode: 'RACE-CODE' };
        const held = await hold(session, body);
        if (held.statusCode !== 201) return { held: held.statusCode, seatIds: [] as number[] };
        const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session });
        expect(bought.statusCode, bought.body).toBe(201);
        return { held: 201, seatIds: bought.json().seatIds as number[] };
      }),
    );
    const sold = results.flatMap((result) => result.seatIds);
    expect(new Set(sold).size).toBe(sold.length);
    expect(sold.sort()).toEqual([...performance.seatIds].sort());
    for (const result of results) expect([201, 409]).toContain(result.held);
    const counts = (await call('GET', `/performances/${performance.id}`)).json();
    expect(counts).toMatchObject({ available: 0, held: 0, sold: 3 });
  });
});
