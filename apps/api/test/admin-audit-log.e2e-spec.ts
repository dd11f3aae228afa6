import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { auditedActions } from '@app/ticketing';
import { caller, createPerformance, flushPurchases, hold } from './purchase-helpers';
import { startTestApi } from './support/api';

interface Entry {
  id: string;
  at: string;
  actorId: string;
  actorEmail: string;
  action: string;
  subjectId: string;
  details: Record<string, unknown>;
}

/** `GET /admin/audit-log`: what operators did, as the actions themselves recorded it (real PostgreSQL and Redis). */
describe('audit log: GET /admin/audit-log (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let otherAdmin: TestSession;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;
  let performanceA: { id: number; seatIds: number[] };
  let performanceB: { id: number; seatIds: number[] };
  let refundedId: string;
  const waitingRoom = {
    opensAt: '2030-02-01T10:00:00Z',
    admitPerSecond: 10,
    maxActive: 10,
    admissionTtlSeconds: 60,
    sessionTtlSeconds: 600,
  };

  const list = async (query: string, session = admin) => {
    const res = await call('GET', `/admin/audit-log${query}`, { session });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { items: Entry[]; nextCursor: string | null };
  };

  beforeAll(async () => {
    // Age 0: a flush pass writes everything bought so far, so the refund finds the purchase flushed.
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
    call = caller(api.app);
    [admin, otherAdmin, buyer] = await Promise.all([
      createSession(api.app, { role: Role.Admin }),
      createSession(api.app, { role: Role.Admin }),
      createSession(api.app),
    ]);
    [performanceA, performanceB] = await Promise.all([
      createPerformance(api.app, admin, 20, { price: 3_000 }),
      createPerformance(api.app, admin, 20, { price: 3_000 }),
    ]);

    // In this order, each by one of the two operators: a refund on A, a block on A, a block on B, A's door list.
    const held = await hold(api.app, buyer, performanceA.id, performanceA.seatIds.slice(0, 2));
    const bought = await call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } });
    expect(bought.statusCode, bought.body).toBe(201);
    refundedId = bought.json().id;
    await flushPurchases(api.app);
    const refunded = await call('POST', `/admin/purchases/${refundedId}/refund`, { session: admin });
    expect(refunded.statusCode, refunded.body).toBe(200);
    const blockA = await call('POST', `/admin/performances/${performanceA.id}/seat-blocks`, {
      session: otherAdmin,
      body: { seatIds: [performanceA.seatIds[10]], reason: 'camera' },
    });
    expect(blockA.statusCode, blockA.body).toBe(200);
    const blockB = await call('POST', `/admin/performances/${performanceB.id}/seat-blocks`, {
      session: admin,
      body: { seatIds: [performanceB.seatIds[3]] },
    });
    expect(blockB.statusCode, blockB.body).toBe(200);
    const doorList = await call('GET', `/performances/${performanceA.id}/attendees`, { session: otherAdmin });
    expect(doorList.statusCode).toBe(200);

    // Changes of what is for sale, on B and on an event made and deleted, so the filters meet every kind of action.
    const changes: [string, string, object | undefined, number][] = [
      ['PATCH', `/performances/${performanceB.id}`, { status: 'PAUSED' }, 200],
      ['PUT', `/performances/${performanceB.id}/queue`, waitingRoom, 200],
      ['DELETE', `/performances/${performanceB.id}/queue`, undefined, 204],
    ];
    for (const [method, path, body, status] of changes) {
      const res = await call(method, path, { session: otherAdmin, body });
      expect(res.statusCode, res.body).toBe(status);
    }
    const gone = await createPerformance(api.app, admin, 4);
    const { eventId } = (await call('GET', `/performances/${gone.id}`)).json();
    for (const [method, path, body, status] of [
      ['PATCH', `/events/${eventId}`, { title: 'Renamed' }, 200],
      ['DELETE', `/performances/${gone.id}`, undefined, 204],
      ['DELETE', `/events/${eventId}`, undefined, 204],
    ] as const) {
      const res = await call(method, path, { session: admin, body });
      expect(res.statusCode, res.body).toBe(status);
    }
  });
  afterAll(async () => {
    await api?.close();
  });

  it("lists a performance's actions newest first, with who, when and the facts; another performance's are left out", async () => {
    const { items, nextCursor } = await list(`?performanceId=${performanceA.id}`);

    expect(nextCursor).toBeNull();
    expect(items.map((entry) => [entry.action, entry.actorEmail, entry.subjectId])).toEqual([
      ['attendees.export', otherAdmin.email, `performance:${performanceA.id}`],
      ['seat.block', otherAdmin.email, `performance:${performanceA.id}`],
      // A refund's subject is its purchase; its details name the performance.
      ['purchase.refund', admin.email, refundedId],
      ['performance.create', admin.email, `performance:${performanceA.id}`],
    ]);
    expect(items.map((entry) => entry.actorId)).toEqual([otherAdmin.id, otherAdmin.id, admin.id, admin.id]);
    const ids = items.map((entry) => BigInt(entry.id));
    expect(ids, 'newest first').toEqual([...ids].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
    for (const entry of items) expect(entry.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(items[1].details).toMatchObject({ performanceId: performanceA.id, seatIds: [performanceA.seatIds[10]] });
    expect(items[2].details).toMatchObject({
      performanceId: performanceA.id,
      buyerId: buyer.id,
      amount: 6_000,
      seatIds: performanceA.seatIds.slice(0, 2),
    });
  });

  it('filters by purchase and by action, and pages through the log without repeats or gaps', async () => {
    const byPurchase = await list(`?purchaseId=${refundedId.toUpperCase()}`);
    expect(byPurchase.items.map((entry) => entry.action)).toEqual(['purchase.refund']);

    const blocksOfB = await list(`?performanceId=${performanceB.id}&action=seat.block`);
    expect(blocksOfB.items.map((entry) => [entry.action, entry.actorEmail, entry.details.seatIds])).toEqual([
      ['seat.block', admin.email, [performanceB.seatIds[3]]],
    ]);
    const blocks = await list('?action=seat.block');
    expect(blocks.items.map((entry) => entry.subjectId)).toEqual([
      `performance:${performanceB.id}`,
      `performance:${performanceA.id}`,
    ]);

    // Ten more rows, so that ids reach two digits (ordered as numbers, not as text: "9" before "14").
    const performanceC = await createPerformance(api.app, admin, 5, { price: 1_000 });
    for (let round = 0; round < 5; round++) {
      for (const path of ['seat-blocks', 'seat-blocks/release']) {
        const res = await call('POST', `/admin/performances/${performanceC.id}/${path}`, {
          session: admin,
          body: { seatIds: [performanceC.seatIds[0]] },
        });
        expect(res.statusCode, res.body).toBe(200);
      }
    }

    const whole = await list('?limit=100');
    const ids = whole.items.map((entry) => BigInt(entry.id));
    expect(ids, 'newest first, as numbers').toEqual([...ids].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
    expect(whole.items.length).toBeGreaterThanOrEqual(14);
    const paged: Entry[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Entry[]; nextCursor: string | null } = await list(
        `?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.items.length).toBe(1);
      paged.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(whole.items);
  });

  it('pages every filter without repeats or gaps, and binds each cursor to its filter (generated)', async () => {
    // Query strings of filters; the two spellings of the refunded purchase's id are one filter.
    const filters = fc.record(
      {
        performanceId: fc.constantFrom(performanceA.id, performanceB.id),
        purchaseId: fc.constantFrom(refundedId, refundedId.toUpperCase()),
        action: fc.constantFrom(...auditedActions()),
      },
      { requiredKeys: [] },
    );
    const query = (filter: Record<string, string | number>) =>
      Object.entries(filter)
        .map(([name, value]) => `&${name}=${value}`)
        .join('');
    const sameFilter = (a: Record<string, string | number>, b: Record<string, string | number>) => {
      const key = (f: Record<string, string | number>) =>
        JSON.stringify([f.performanceId ?? null, String(f.purchaseId ?? '').toLowerCase(), f.action ?? null]);
      return key(a) === key(b);
    };
    await fc.assert(
      fc.asyncProperty(filters, filters, fc.integer({ min: 1, max: 3 }), async (filter, other, limit) => {
        const whole = await list(`?limit=100${query(filter)}`);
        const paged: Entry[] = [];
        let cursor: string | null = null;
        do {
          const page: { items: Entry[]; nextCursor: string | null } = await list(
            `?limit=${limit}${query(filter)}${cursor ? `&cursor=${cursor}` : ''}`,
          );
          paged.push(...page.items);
          cursor = page.nextCursor;
          if (cursor === null) break;
          // The same cursor with another filter: a 400 saying so, not a page of that other list.
          const reused = await call('GET', `/admin/audit-log?limit=${limit}${query(other)}&cursor=${cursor}`, {
            session: admin,
          });
          if (sameFilter(filter, other)) {
            expect(reused.statusCode, reused.body).toBe(200);
          } else {
            expect(reused.statusCode, reused.body).toBe(400);
            expect(reused.json().message).toBe('cursor was made with other filters: send the same filters');
          }
        } while (cursor);
        expect(paged).toEqual(whole.items);
      }),
      { numRuns: 25 },
    );
  });

  it('answers 400 for a filter or cursor it cannot use, 401 without a token and 403 for a buyer', async () => {
    const refused = async (query: string) => {
      const res = await call('GET', `/admin/audit-log${query}`, { session: admin });
      expect(res.statusCode, `${query}: ${res.body}`).toBe(400);
      return res.json() as { message: unknown };
    };
    const unknownAction = await refused('?action=seat.steal');
    // A field of the query failing its own check: the list of field errors, as every field's.
    expect(unknownAction.message).toEqual([expect.stringMatching(/^action must be one of .*seat\.block/)]);
    const invalidCursor = 'cursor is not valid for this list';
    expect((await refused('?cursor=not-a-cursor')).message).toBe(invalidCursor);
    // A well-formed cursor of another list (seat blocks' keyset holds a position, not an audit id).
    const otherList = Buffer.from(JSON.stringify({ p: 3 })).toString('base64url');
    expect((await refused(`?cursor=${otherList}`)).message).toBe(invalidCursor);
    const hugeId = Buffer.from(JSON.stringify({ i: '99999999999999999999' })).toString('base64url');
    expect((await refused(`?cursor=${hugeId}`)).message).toBe(invalidCursor);
    for (const query of ['?limit=0', '?limit=101', '?performanceId=abc', '?performanceId=0', '?purchaseId=nope']) {
      await refused(query);
    }

    expect((await call('GET', '/admin/audit-log')).statusCode).toBe(401);
    expect((await call('GET', '/admin/audit-log', { session: buyer })).statusCode).toBe(403);
  });
});
