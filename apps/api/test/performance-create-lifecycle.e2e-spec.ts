import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { hold } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

const STARTS_AT = '2030-03-01T19:00:00+09:00';
const STARTS_AT_MS = Date.parse(STARTS_AT);
const LAYOUT = [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 4 }];

/**
 * `POST /events/:id/performances` takes the lifecycle fields of `PATCH /performances/:id`
 * (salesCloseAt, cancelUntil, status) with the same rules and defaults, on real PostgreSQL and
 * Redis: what it answers is what the scripts enforce from the first hold on.
 */
describe('lifecycle fields at performance creation (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let buyer: TestSession;
  let eventId: number;

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi());
    buyer = await createSession(api.app);
    const event = await call('POST', '/events', { body: { title: 'Concert', venue: 'Hall' }, session: admin });
    expect(event.statusCode, event.body).toBe(201);
    eventId = event.json().id;
  });
  afterAll(() => close?.());

  const create = (fields: object) =>
    call('POST', `/events/${eventId}/performances`, {
      body: { startsAt: STARTS_AT, sections: LAYOUT, ...fields },
      session: admin,
    });

  it('defaults as before: ON_SALE, sales until the start, buyers may cancel until 24 h before it', async () => {
    const created = await create({});
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      status: 'ON_SALE',
      salesCloseAt: new Date(STARTS_AT_MS).toISOString(),
      cancelUntil: new Date(STARTS_AT_MS - 24 * 3600_000).toISOString(),
    });
  });

  it('refuses a performance starting within 24 h without cancelUntil (its default has passed), and takes one given', async () => {
    const soon = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 3 * 3600_000);
    const count = async () => (await call('GET', `/events/${eventId}/performances?limit=100`)).json().items.length;
    const before = await count();
    const refused = await create({ startsAt: soon.toISOString() });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(Object.keys(refused.json()).sort()).toEqual(
      ['details', 'error', 'message', 'path', 'requestId', 'statusCode', 'timestamp'].sort(),
    );
    expect(refused.json().message).toMatch(
      /^cancelUntil must be given for a performance starting within 24 h: its default, 24 h before startsAt \(.+ UTC\), has passed, so buyers could never cancel; give cancelUntil .* or null for no self-service cancel$/,
    );
    expect(refused.json().details).toEqual({
      defaultCancelUntil: new Date(soon.getTime() - 24 * 3600_000).toISOString().replace('.000Z', '+00:00'),
      timeZone: 'UTC',
    });
    expect(await count()).toBe(before);

    // Given explicitly: none at all, a time already past (buyers may not cancel), or one still ahead.
    for (const cancelUntil of [null, new Date(Date.now() - 3600_000).toISOString(), soon.toISOString()]) {
      const created = await create({ startsAt: soon.toISOString(), cancelUntil });
      expect(created.statusCode, created.body).toBe(201);
      expect(created.json().cancelUntil).toBe(cancelUntil === null ? null : new Date(cancelUntil).toISOString());
    }
  });

  it('keeps the given fields, answers them on every read, and the scripts enforce them from the start', async () => {
    const paused = await create({
      salesOpenAt: '2026-01-01T00:00:00Z',
      salesCloseAt: '2030-02-01T00:00:00Z',
      cancelUntil: null,
      status: 'PAUSED',
    });
    expect(paused.statusCode, paused.body).toBe(201);
    const expected = {
      status: 'PAUSED',
      salesOpenAt: '2026-01-01T00:00:00.000Z',
      salesCloseAt: '2030-02-01T00:00:00.000Z',
      cancelUntil: null,
    };
    expect(paused.json()).toMatchObject(expected);
    const id = paused.json().id as number;
    expect((await call('GET', `/performances/${id}`)).json()).toMatchObject(expected);

    const seats = (await call('GET', `/performances/${id}/seats`)).json().items as { id: number }[];
    const refused = await call('POST', '/reservations', {
      body: { performanceId: id, seatIds: [seats[0].id] },
      session: buyer,
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().message).toBe('sales are paused for this performance');

    // On sale again, a purchase is made; cancelUntil null (given at creation) refuses its cancel.
    const resumed = await call('PATCH', `/performances/${id}`, { body: { status: 'ON_SALE' }, session: admin });
    expect(resumed.statusCode, resumed.body).toBe(200);
    const held = await hold(api.app, buyer, id, [seats[0].id]);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    const cancel = await call('POST', `/purchases/${bought.json().id}/cancel`, { session: buyer });
    expect(cancel.statusCode, cancel.body).toBe(409);
    expect(cancel.json().message).toBe('purchases of this performance cannot be canceled by the buyer');
  });

  it('creates a CLOSED performance that refuses holds', async () => {
    const closed = await create({ status: 'CLOSED' });
    expect(closed.statusCode, closed.body).toBe(201);
    const id = closed.json().id as number;
    const seats = (await call('GET', `/performances/${id}/seats`)).json().items as { id: number }[];
    const refused = await call('POST', '/reservations', {
      body: { performanceId: id, seatIds: [seats[0].id] },
      session: buyer,
    });
    expect(refused.statusCode, refused.body).toBe(409);
  });

  it('refuses out-of-order times with the words of PATCH, creating nothing', async () => {
    const existing = await create({});
    expect(existing.statusCode).toBe(201);
    const cases: [object, string][] = [
      [{ cancelUntil: '2030-03-02T00:00:00Z' }, 'cancelUntil must not be after startsAt'],
      [{ salesCloseAt: '2030-03-02T00:00:00Z' }, 'salesCloseAt must not be after startsAt'],
      [
        { salesOpenAt: '2029-01-01T00:00:00Z', salesCloseAt: '2028-01-01T00:00:00Z' },
        'salesCloseAt must be after salesOpenAt',
      ],
    ];
    for (const [fields, message] of cases) {
      const created = await create(fields);
      expect(created.statusCode, created.body).toBe(400);
      expect(created.json().message).toBe(message);
      // The same change on an existing performance is refused with the same words.
      const patched = await call('PATCH', `/performances/${existing.json().id}`, { body: fields, session: admin });
      expect(patched.statusCode, patched.body).toBe(400);
      expect(patched.json().message).toBe(message);
    }
    const listed = (await call('GET', `/events/${eventId}/performances?limit=100`)).json().items;
    const before = listed.length;
    await create({ status: 'SOLD_OUT' });
    expect((await call('GET', `/events/${eventId}/performances?limit=100`)).json().items).toHaveLength(before);
  });

  it('answers a generated bad lifecycle field with 400 and the uniform body on both routes alike', async () => {
    const existing = await create({});
    expect(existing.statusCode).toBe(201);
    const badTime = fc.oneof(
      fc.constantFrom('2030-03-01T19:00:00', '2030-02-30T00:00:00Z', 'tomorrow', '', 0, true, [], {}),
      fc.string().filter((text) => !/^\d{4}-\d{2}-\d{2}T/.test(text)),
    );
    const badField = fc.oneof(
      fc.record({ salesCloseAt: badTime }),
      fc.record({ cancelUntil: badTime }),
      fc.record({
        status: fc.oneof(
          fc.constantFrom(null, 'on_sale', 'SOLD_OUT', 1, ''),
          fc.string().filter((s) => !['ON_SALE', 'PAUSED', 'CLOSED'].includes(s)),
        ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(badField, async (fields) => {
        const created = await create(fields);
        const patched = await call('PATCH', `/performances/${existing.json().id}`, { body: fields, session: admin });
        for (const answer of [created, patched]) {
          expect(answer.statusCode, answer.body).toBe(400);
          expect(Object.keys(answer.json()).sort()).toEqual(
            ['error', 'message', 'path', 'requestId', 'statusCode', 'timestamp'].sort(),
          );
        }
        // One statement of the rules: both routes name the same fault.
        expect(created.json().message).toEqual(patched.json().message);
      }),
      { numRuns: 40 },
    );
    const after = await call('GET', `/performances/${existing.json().id}`);
    expect(after.json()).toMatchObject({ status: 'ON_SALE', cancelUntil: existing.json().cancelUntil });
  });
});
