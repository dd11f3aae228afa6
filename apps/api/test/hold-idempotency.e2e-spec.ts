import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performanceKeys } from '@app/ticketing';
import { AdminApi, signedBuyer, startAdminApi } from './support/api';
import { ERROR_KEYS } from './support/http';
import { createShowOfSections, ON_SALE } from './support/shows';

type Headers = Record<string, string>;

/**
 * `POST /reservations` with an `Idempotency-Key`, in both forms: a retry answers the first hold
 * again and holds nothing more (also 50 at once), the key with another request is a 409 holding
 * nothing, keys are per user, malformed keys are 400s, and a hold released since is still answered
 * as it was made. Checked in Redis: the performance's counts and the user's holds.
 */
describe('Idempotency-Key on holds (POST /reservations)', () => {
  let { api, admin, redis, call, close } = {} as AdminApi; // set before the first test
  beforeAll(async () => ({ api, admin, redis, call, close } = await startAdminApi({ MAX_SEATS_PER_RESERVATION: '4' })));
  afterAll(() => close?.());

  /** A performance of two rows of 8 seats (ids in layout order). */
  async function newPerformance(): Promise<{ id: number; seatIds: number[] }> {
    const { id, seats } = await createShowOfSections(call, admin, {
      title: 'Keyed holds',
      performance: ON_SALE,
      sections: [{ name: 'Floor', grade: 'R', price: 1500, rows: 2, seatsPerRow: 8 }],
    });
    return { id, seatIds: seats.Floor };
  }

  const reserve = (headers: Headers, payload: Record<string, unknown>, key?: string) =>
    api.app.inject({
      method: 'POST',
      url: '/api/v1/reservations',
      headers: key === undefined ? headers : { ...headers, 'idempotency-key': key },
      payload,
    });

  /** The performance's held count and the buyer's hold entries, as Redis has them. */
  async function heldState(performanceId: number, userId: string): Promise<{ held: number; userHolds: string[] }> {
    const keys = performanceKeys(performanceId);
    const [held, userHolds] = await Promise.all([redis.hget(keys.counts, 'held'), redis.hkeys(keys.userHolds(userId))]);
    return { held: Number(held), userHolds };
  }

  it('a retry with the same key answers the first hold (same body) and holds nothing more', async () => {
    const performance = await newPerformance();
    const buyer = await signedBuyer(api);
    const seats = performance.seatIds.slice(0, 2);
    const first = await reserve(buyer.headers, { performanceId: performance.id, seatIds: seats }, 'hold-once');
    expect(first.statusCode).toBe(201);
    const again = await reserve(buyer.headers, { performanceId: performance.id, seatIds: seats }, 'hold-once');
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    // The same seats in another order are the same request: the first answer, in its order.
    const reordered = await reserve(
      buyer.headers,
      { performanceId: performance.id, seatIds: [...seats].reverse() },
      'hold-once',
    );
    expect(reordered.statusCode).toBe(201);
    expect(reordered.json()).toEqual(first.json());

    expect(await heldState(performance.id, buyer.userId)).toEqual({ held: 2, userHolds: [first.json().id] });
    const mine = await api.app.inject({ method: 'GET', url: '/api/v1/reservations', headers: buyer.headers });
    expect(mine.json().items.map((h: { id: string }) => h.id)).toEqual([first.json().id]);
    // The per-user limit (4) still has room for the two seats the retries did not take.
    const more = await reserve(buyer.headers, {
      performanceId: performance.id,
      seatIds: performance.seatIds.slice(2, 4),
    });
    expect(more.statusCode).toBe(201);
  });

  it('50 requests at once with one key make one hold, and every one answers it', async () => {
    const performance = await newPerformance();
    const buyer = await signedBuyer(api);
    const seats = performance.seatIds.slice(4, 7);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        reserve(buyer.headers, { performanceId: performance.id, seatIds: seats }, 'double-click'),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array.from({ length: 50 }, () => 201));
    expect(new Set(answers.map((a) => a.json().id)).size).toBe(1);
    for (const answer of answers) expect(answer.json()).toEqual(answers[0].json());
    expect(await heldState(performance.id, buyer.userId)).toEqual({ held: 3, userHolds: [answers[0].json().id] });
  });

  it('50 best-available requests at once with one key hold one set of seats, each answering it', async () => {
    const performance = await newPerformance();
    const buyer = await signedBuyer(api);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        reserve(buyer.headers, { performanceId: performance.id, quantity: 2, grade: 'R' }, 'best-click'),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array.from({ length: 50 }, () => 201));
    for (const answer of answers) expect(answer.json()).toEqual(answers[0].json());
    expect(await heldState(performance.id, buyer.userId)).toEqual({ held: 2, userHolds: [answers[0].json().id] });
  });

  it('best available: a retry answers the same seats and arrangement, also with the grade in another casing', async () => {
    const performance = await newPerformance();
    const buyer = await signedBuyer(api);
    const body = { performanceId: performance.id, quantity: 2, grade: 'R', together: true };
    const first = await reserve(buyer.headers, body, 'best-1');
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ arrangement: 'TOGETHER', amount: 3000 });
    const again = await reserve(buyer.headers, body, 'best-1');
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect((await reserve(buyer.headers, { ...body, grade: 'r' }, 'best-1')).json()).toEqual(first.json());
    // Without the key the same body is a new request: two more seats, elsewhere.
    const unkeyed = await reserve(buyer.headers, body);
    expect(unkeyed.statusCode).toBe(201);
    expect(unkeyed.json().seatIds).not.toEqual(first.json().seatIds);
    expect((await heldState(performance.id, buyer.userId)).held).toBe(4);
  });

  it('the key with another request is a 409 naming the reuse, and holds nothing', async () => {
    const performance = await newPerformance();
    const buyer = await signedBuyer(api);
    const first = await reserve(
      buyer.headers,
      { performanceId: performance.id, seatIds: [performance.seatIds[8]] },
      'reused',
    );
    expect(first.statusCode).toBe(201);
    const refusals = [
      await reserve(buyer.headers, { performanceId: performance.id, seatIds: [performance.seatIds[9]] }, 'reused'),
      await reserve(
        buyer.headers,
        { performanceId: performance.id, seatIds: [performance.seatIds[8], performance.seatIds[9]] },
        'reused',
      ),
      await reserve(buyer.headers, { performanceId: performance.id, quantity: 1 }, 'reused'),
    ];
    for (const refused of refusals) {
      expect(refused.statusCode).toBe(409);
      expect(Object.keys(refused.json()).sort()).toEqual(ERROR_KEYS);
      expect(refused.json().message).toBe(
        'Idempotency-Key was already used for another reservation request (other seats, or another best-available request)',
      );
      expect(refused.headers['retry-after']).toBeUndefined();
    }
    expect(await heldState(performance.id, buyer.userId)).toEqual({ held: 1, userHolds: [first.json().id] });
    const seat = await api.app.inject({
      method: 'GET',
      url: `/api/v1/performances/${performance.id}/seats?limit=100`,
    });
    const status = new Map(seat.json().items.map((s: { id: number; status: string }) => [s.id, s.status]));
    expect(status.get(performance.seatIds[9])).toBe('AVAILABLE');
  });

  it('keys are per user: two buyers with one key get holds of their own', async () => {
    const performance = await newPerformance();
    const [one, two] = [await signedBuyer(api), await signedBuyer(api)];
    const a = await reserve(one.headers, { performanceId: performance.id, seatIds: [performance.seatIds[10]] }, 'k');
    const b = await reserve(two.headers, { performanceId: performance.id, seatIds: [performance.seatIds[11]] }, 'k');
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).not.toBe(b.json().id);
    // The second buyer's key is not the first's: their first seat is not available to them.
    const c = await reserve(two.headers, { performanceId: performance.id, seatIds: [performance.seatIds[10]] }, 'k2');
    expect(c.statusCode).toBe(409);
    expect(c.json().details).toEqual({ seatIds: [performance.seatIds[10]] });
    expect((await heldState(performance.id, one.userId)).userHolds).toEqual([a.json().id]);
    expect((await heldState(performance.id, two.userId)).userHolds).toEqual([b.json().id]);
  });

  it('answers a malformed key 400 with the uniform body, holding nothing', async () => {
    const performance = await newPerformance();
    const buyer = await signedBuyer(api);
    for (const key of ['', 'x'.repeat(201), 'tab\there', 'naïve']) {
      for (const body of [
        { performanceId: performance.id, seatIds: [performance.seatIds[12]] },
        { performanceId: performance.id, quantity: 1 },
      ]) {
        const res = await reserve(buyer.headers, body, key);
        expect(res.statusCode, JSON.stringify(key)).toBe(400);
        expect(Object.keys(res.json()).sort()).toEqual(ERROR_KEYS);
        expect(res.json().message).toBe('Idempotency-Key must be 1 to 200 printable ASCII characters');
      }
    }
    expect(await heldState(performance.id, buyer.userId)).toEqual({ held: 0, userHolds: [] });
    const longest = await reserve(
      buyer.headers,
      { performanceId: performance.id, seatIds: [performance.seatIds[12]] },
      'y'.repeat(200),
    );
    expect(longest.statusCode).toBe(201);
  });

  it('a hold released since is answered as it was made (201 HELD), its seats not held again', async () => {
    const performance = await newPerformance();
    const buyer = await signedBuyer(api);
    const body = { performanceId: performance.id, seatIds: [performance.seatIds[13], performance.seatIds[14]] };
    const first = await reserve(buyer.headers, body, 'then-released');
    expect(first.statusCode).toBe(201);
    const released = await api.app.inject({
      method: 'DELETE',
      url: `/api/v1/reservations/${first.json().id}`,
      headers: buyer.headers,
    });
    expect(released.statusCode).toBe(204);
    const again = await reserve(buyer.headers, body, 'then-released');
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect((await heldState(performance.id, buyer.userId)).held).toBe(0);
    const now = await api.app.inject({
      method: 'GET',
      url: `/api/v1/reservations/${first.json().id}`,
      headers: buyer.headers,
    });
    expect(now.json().status).toBe('RELEASED');
    // A new key holds them anew.
    const fresh = await reserve(buyer.headers, body, 'second-try');
    expect(fresh.statusCode).toBe(201);
    expect(fresh.json().id).not.toBe(first.json().id);
  });

  it('documents the Idempotency-Key header and the 409 of its reuse in the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    const post = doc.paths['/api/v1/reservations'].post;
    expect(post.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false })]),
    );
    expect(post.responses['409'].description).toContain('Idempotency-Key already used for another request');
  });
});
