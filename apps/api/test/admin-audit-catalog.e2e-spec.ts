import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, refuseCommitsOn, TestSession } from '@app/testing';
import { caller, flushPurchases, hold } from './purchase-helpers';
import { startTestApi } from './support/api';

interface Row {
  actor_id: string;
  actor_email: string;
  action: string;
  subject_id: string;
  details: Record<string, unknown>;
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const SECTION = { name: 'Floor', grade: 'A', price: 4_500, rows: 1, seatsPerRow: 4 };
const ROOM = {
  opensAt: '2030-02-01T10:00:00+09:00',
  admitPerSecond: 50,
  maxActive: 20,
  admissionTtlSeconds: 60,
  sessionTtlSeconds: 600,
};

/**
 * The audit rows of what is for sale: creating, changing and deleting events and performances and
 * setting or removing a waiting room, each over HTTP against the real services; refused changes
 * write none; a row commits with its change and only with it.
 */
describe('audit log of the catalog: events, performances, waiting rooms (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let db: Client;
  let admin: TestSession;
  let otherAdmin: TestSession;
  let buyer: TestSession;
  let call: ReturnType<typeof caller>;

  /** Every row recorded since row `afterId`, oldest first. */
  const rowsAfter = async (afterId: string): Promise<Row[]> =>
    db
      .query(
        `SELECT actor_id, actor_email, action, subject_id, details FROM admin_audit_log WHERE id > $1 ORDER BY id`,
        [afterId],
      )
      .then((result) => result.rows);
  const lastId = async (): Promise<string> =>
    (await db.query(`SELECT coalesce(max(id), 0)::text AS id FROM admin_audit_log`)).rows[0].id;
  /** Runs `act` and answers the rows it recorded. */
  const recorded = async (act: () => Promise<unknown>): Promise<Row[]> => {
    const before = await lastId();
    await act();
    return rowsAfter(before);
  };
  const expectStatus = async (res: Promise<{ statusCode: number; body: string }>, status: number) => {
    const answer = await res;
    expect(answer.statusCode, answer.body).toBe(status);
    return answer as Awaited<ReturnType<typeof call>>;
  };
  const newEvent = async (session = admin, title = 'Concert') =>
    (
      await expectStatus(call('POST', '/events', { session, body: { title, venue: 'Hall', currency: 'EUR' } }), 201)
    ).json().id as number;
  /** The row `session` recorded of `action` on `subjectId`, as `rowsAfter` reads it. */
  const entry = (session: TestSession, action: string, subjectId: string, details: Record<string, unknown>): Row => ({
    actor_id: session.id,
    actor_email: session.email,
    action,
    subject_id: subjectId,
    details,
  });
  const newPerformance = async (eventId: number, session = admin) =>
    (
      await expectStatus(
        call('POST', `/events/${eventId}/performances`, {
          session,
          body: { startsAt: '2030-03-01T19:00:00Z', sections: [SECTION] },
        }),
        201,
      )
    ).json().id as number;

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
    call = caller(api.app);
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    [admin, otherAdmin, buyer] = await Promise.all([
      createSession(api.app, { role: Role.Admin }),
      createSession(api.app, { role: Role.Admin }),
      createSession(api.app),
    ]);
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  it('event.create, event.update (changed fields only; none for a PATCH that changes nothing), event.delete', async () => {
    let eventId = 0;
    const created = await recorded(async () => {
      eventId = await newEvent(otherAdmin);
    });
    expect(created).toEqual([
      entry(otherAdmin, 'event.create', `event:${eventId}`, {
        eventId,
        title: 'Concert',
        description: null,
        venue: 'Hall',
        currency: 'EUR',
        timeZone: 'UTC',
      }),
    ]);

    const updated = await recorded(() =>
      expectStatus(
        call('PATCH', `/events/${eventId}`, {
          session: admin,
          body: { title: 'Concert II', venue: 'Hall', timeZone: 'Asia/Seoul' },
        }),
        200,
      ),
    );
    expect(updated).toEqual([
      // The venue was given with its stored value: no change, not told.
      entry(admin, 'event.update', `event:${eventId}`, {
        eventId,
        changed: {
          title: { before: 'Concert', after: 'Concert II' },
          timeZone: { before: 'UTC', after: 'Asia/Seoul' },
        },
      }),
    ]);

    const unchanged = await recorded(() =>
      expectStatus(call('PATCH', `/events/${eventId}`, { session: admin, body: { title: 'Concert II' } }), 200),
    );
    expect(unchanged, 'a PATCH that changes nothing').toEqual([]);

    const refused = await recorded(async () => {
      await expectStatus(call('PATCH', `/events/${eventId}`, { session: admin, body: { timeZone: 'Mars/Base' } }), 400);
      await expectStatus(call('PATCH', '/events/999999', { session: admin, body: { title: 'X' } }), 404);
      await expectStatus(call('DELETE', '/events/999999', { session: admin }), 404);
      await expectStatus(
        call('POST', '/events', { session: admin, body: { title: 'X', venue: 'Y', currency: 'ZZZ' } }),
        400,
      );
    });
    expect(refused, 'refused changes').toEqual([]);

    const performanceId = await newPerformance(eventId);
    const deleted = await recorded(() => expectStatus(call('DELETE', `/events/${eventId}`, { session: admin }), 204));
    expect(deleted).toEqual([
      entry(admin, 'event.delete', `event:${eventId}`, {
        eventId,
        title: 'Concert II',
        description: null,
        venue: 'Hall',
        currency: 'EUR',
        timeZone: 'Asia/Seoul',
        performanceIds: [performanceId],
      }),
    ]);
    // The delete of its event is among a performance's actions.
    const mine = await call('GET', `/admin/audit-log?performanceId=${performanceId}`, { session: admin });
    expect(mine.json().items.map((entry: { action: string }) => entry.action)).toEqual([
      'event.delete',
      'performance.create',
    ]);
  });

  it('performance.create with its fields, sections and currency; performance.update before and after; performance.delete', async () => {
    const eventId = await newEvent();
    let performanceId = 0;
    const created = await recorded(async () => {
      performanceId = await newPerformance(eventId, otherAdmin);
    });
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      actor_id: otherAdmin.id,
      actor_email: otherAdmin.email,
      action: 'performance.create',
      subject_id: `performance:${performanceId}`,
    });
    expect(created[0].details).toEqual({
      performanceId,
      eventId,
      startsAt: '2030-03-01T19:00:00.000Z',
      salesOpenAt: expect.stringMatching(ISO_UTC),
      salesCloseAt: null,
      cancelUntil: '2030-02-28T19:00:00.000Z',
      status: 'ON_SALE',
      noOrphanSeats: false,
      maxTicketsPerBuyer: null,
      checkInOpensBeforeMinutes: null,
      checkInClosesAfterMinutes: null,
      totalSeats: 4,
      currency: 'EUR',
      sections: [SECTION],
    });

    const url = `/performances/${performanceId}`;
    // A postponement (which e-mails every buyer) and a pause.
    const moved = await recorded(() =>
      expectStatus(
        call('PATCH', url, { session: admin, body: { startsAt: '2030-03-02T19:00:00+09:00', status: 'PAUSED' } }),
        200,
      ),
    );
    expect(moved).toEqual([
      entry(admin, 'performance.update', `performance:${performanceId}`, {
        performanceId,
        eventId,
        changed: {
          startsAt: { before: '2030-03-01T19:00:00.000Z', after: '2030-03-02T10:00:00.000Z' },
          status: { before: 'ON_SALE', after: 'PAUSED' },
        },
        // Nobody was checked in before the new doors open: nothing cleared.
        checkInsCleared: 0,
      }),
    ]);

    const rules = {
      cancelUntil: null,
      maxTicketsPerBuyer: 4,
      noOrphanSeats: true,
      checkInOpensBeforeMinutes: 60,
      checkInClosesAfterMinutes: 30,
    };
    const ruled = await recorded(() => expectStatus(call('PATCH', url, { session: admin, body: rules }), 200));
    expect(ruled.map((row) => [row.action, row.details.changed])).toEqual([
      [
        'performance.update',
        {
          cancelUntil: { before: '2030-02-28T19:00:00.000Z', after: null },
          maxTicketsPerBuyer: { before: null, after: 4 },
          noOrphanSeats: { before: false, after: true },
          checkInOpensBeforeMinutes: { before: null, after: 60 },
          checkInClosesAfterMinutes: { before: null, after: 30 },
        },
      ],
    ]);

    const same = await recorded(async () => {
      await expectStatus(call('PATCH', url, { session: admin, body: rules }), 200);
      // The same instant in another offset is no move.
      await expectStatus(call('PATCH', url, { session: admin, body: { startsAt: '2030-03-02T10:00:00Z' } }), 200);
    });
    expect(same, 'PATCHes that change nothing').toEqual([]);

    const closed = await recorded(() =>
      expectStatus(
        call('PATCH', url, { session: admin, body: { status: 'CLOSED', startsAt: '2030-03-02T10:00:00Z' } }),
        200,
      ),
    );
    expect(closed.map((row) => row.details.changed)).toEqual([{ status: { before: 'PAUSED', after: 'CLOSED' } }]);

    const refused = await recorded(async () => {
      await expectStatus(call('PATCH', url, { session: admin, body: { salesCloseAt: '2031-01-01T00:00:00Z' } }), 400);
      await expectStatus(call('PATCH', url, { session: admin, body: { maxTicketsPerBuyer: 0 } }), 400);
      await expectStatus(call('PATCH', '/performances/999999', { session: admin, body: { status: 'PAUSED' } }), 404);
      await expectStatus(call('DELETE', '/performances/999999', { session: admin }), 404);
      await expectStatus(
        call('POST', `/events/${eventId}/performances`, {
          session: admin,
          body: { startsAt: '2030-03-01T19:00:00Z', salesOpenAt: '2030-03-02T19:00:00Z', sections: [SECTION] },
        }),
        400,
      );
      await expectStatus(
        call('POST', '/events/999999/performances', {
          session: admin,
          body: { startsAt: '2030-03-01T19:00:00Z', sections: [SECTION] },
        }),
        404,
      );
    });
    expect(refused, 'refused changes').toEqual([]);

    const deleted = await recorded(() => expectStatus(call('DELETE', url, { session: admin }), 204));
    expect(deleted).toEqual([
      entry(admin, 'performance.delete', `performance:${performanceId}`, {
        performanceId,
        eventId,
        startsAt: '2030-03-02T10:00:00.000Z',
        salesOpenAt: created[0].details.salesOpenAt,
        salesCloseAt: null,
        cancelUntil: null,
        status: 'CLOSED',
        noOrphanSeats: true,
        maxTicketsPerBuyer: 4,
        checkInOpensBeforeMinutes: 60,
        checkInClosesAfterMinutes: 30,
        totalSeats: 4,
      }),
    ]);

    const log = await call('GET', `/admin/audit-log?performanceId=${performanceId}`, { session: admin });
    expect(log.json().items.map((entry: { action: string }) => entry.action)).toEqual([
      'performance.delete',
      'performance.update',
      'performance.update',
      'performance.update',
      'performance.create',
    ]);
  });

  it('waiting-room.update (a new room: every setting from null; a change: what changed) and waiting-room.delete', async () => {
    const performanceId = await newPerformance(await newEvent());
    const url = `/performances/${performanceId}/queue`;
    const set = await recorded(() => expectStatus(call('PUT', url, { session: admin, body: ROOM }), 200));
    expect(set).toEqual([
      entry(admin, 'waiting-room.update', `performance:${performanceId}:waiting-room`, {
        performanceId,
        created: true,
        changed: {
          opensAt: { before: null, after: '2030-02-01T01:00:00.000Z' },
          admitPerSecond: { before: null, after: 50 },
          maxActive: { before: null, after: 20 },
          admissionTtlSeconds: { before: null, after: 60 },
          sessionTtlSeconds: { before: null, after: 600 },
        },
      }),
    ]);

    const changed = await recorded(() =>
      expectStatus(call('PUT', url, { session: otherAdmin, body: { ...ROOM, admitPerSecond: 80 } }), 200),
    );
    expect(changed.map((row) => [row.action, row.actor_id, row.details])).toEqual([
      [
        'waiting-room.update',
        otherAdmin.id,
        { performanceId, created: false, changed: { admitPerSecond: { before: 50, after: 80 } } },
      ],
    ]);

    const none = await recorded(async () => {
      await expectStatus(call('PUT', url, { session: admin, body: { ...ROOM, admitPerSecond: 80 } }), 200);
      await expectStatus(call('PUT', url, { session: admin, body: { ...ROOM, maxActive: 0 } }), 400);
      await expectStatus(call('PUT', '/performances/999999/queue', { session: admin, body: ROOM }), 404);
    });
    expect(none, 'the same settings again, and refused changes').toEqual([]);

    const removed = await recorded(() => expectStatus(call('DELETE', url, { session: admin }), 204));
    expect(removed).toEqual([
      entry(admin, 'waiting-room.delete', `performance:${performanceId}:waiting-room`, {
        performanceId,
        opensAt: '2030-02-01T01:00:00.000Z',
        admitPerSecond: 80,
        maxActive: 20,
        admissionTtlSeconds: 60,
        sessionTtlSeconds: 600,
      }),
    ]);
    expect(await recorded(() => expectStatus(call('DELETE', url, { session: admin }), 404))).toEqual([]);

    const log = await call('GET', `/admin/audit-log?performanceId=${performanceId}`, { session: admin });
    expect(log.json().items.map((entry: { action: string }) => entry.action)).toEqual([
      'waiting-room.delete',
      'waiting-room.update',
      'waiting-room.update',
      'performance.create',
    ]);
    for (const action of ['waiting-room.update', 'waiting-room.delete']) {
      const filtered = await call('GET', `/admin/audit-log?performanceId=${performanceId}&action=${action}`, {
        session: admin,
      });
      expect(filtered.statusCode, filtered.body).toBe(200);
      expect(filtered.json().items.length).toBe(action === 'waiting-room.update' ? 2 : 1);
    }
  });

  it('writes no row for a change refused with 409: a sold performance, its event, a canceled performance', async () => {
    const eventId = await newEvent();
    const performanceId = await newPerformance(eventId);
    const held = await hold(api.app, buyer, performanceId, [(await seatIdsOf(performanceId))[0]]);
    await expectStatus(call('POST', '/purchases', { session: buyer, body: { reservationId: held.id } }), 201);
    await flushPurchases(api.app);
    const other = await newPerformance(eventId);
    await expectStatus(call('POST', `/admin/performances/${other}/cancel`, { session: admin }), 202);

    const refused = await recorded(async () => {
      await expectStatus(call('DELETE', `/performances/${performanceId}`, { session: admin }), 409);
      await expectStatus(call('DELETE', `/events/${eventId}`, { session: admin }), 409);
      await expectStatus(call('PATCH', `/performances/${other}`, { session: admin, body: { status: 'PAUSED' } }), 409);
    });
    expect(refused).toEqual([]);
  });

  it('commits each row with its change: a change whose commit fails leaves no row, a row that cannot be written leaves no change', async () => {
    const eventId = await newEvent();
    const performanceId = await newPerformance(eventId);
    const roomless = await newPerformance(eventId);
    await expectStatus(call('PUT', `/performances/${performanceId}/queue`, { session: admin, body: ROOM }), 200);
    const changes: [string, string, object | undefined][] = [
      ['POST', '/events', { title: 'Never', venue: 'Hall' }],
      ['PATCH', `/events/${eventId}`, { title: 'Never' }],
      ['POST', `/events/${eventId}/performances`, { startsAt: '2030-03-01T19:00:00Z', sections: [SECTION] }],
      ['PATCH', `/performances/${performanceId}`, { maxTicketsPerBuyer: 2 }],
      ['PUT', `/performances/${performanceId}/queue`, { ...ROOM, maxActive: 99 }],
      ['PUT', `/performances/${roomless}/queue`, ROOM],
      ['DELETE', `/performances/${performanceId}/queue`, undefined],
      ['DELETE', `/performances/${roomless}`, undefined],
      ['DELETE', `/events/${eventId}`, undefined],
    ];
    const catalog = async () =>
      (
        await db.query(
          `SELECT (SELECT json_agg(e ORDER BY id) FROM events e) AS events,
                  (SELECT json_agg(p ORDER BY id) FROM performances p) AS performances,
                  (SELECT json_agg(w ORDER BY performance_id) FROM waiting_rooms w) AS rooms`,
        )
      ).rows[0];
    const attempt = async () => {
      for (const [method, path, body] of changes) {
        const res = await call(method, path, { session: admin, body });
        expect(res.statusCode, `${method} ${path}: ${res.body}`).toBeGreaterThanOrEqual(500);
      }
    };

    // Each changed table refuses at commit, after the change and its audit row were written.
    const restoreCatalog = await refuseCommitsOn(
      db,
      ['events', 'performances', 'waiting_rooms'],
      ['INSERT', 'UPDATE', 'DELETE'],
    );
    const before = await catalog();
    try {
      expect(await recorded(attempt), 'rows of changes whose commit failed').toEqual([]);
    } finally {
      await restoreCatalog();
    }
    expect(await catalog()).toEqual(before);

    // The audit log refuses the row: the change goes with it.
    const restoreAuditLog = await refuseCommitsOn(db, 'admin_audit_log', ['INSERT'], { at: 'statement' });
    try {
      await attempt();
    } finally {
      await restoreAuditLog();
    }
    expect(await catalog(), 'changes whose audit row could not be written').toEqual(before);
  });

  it('lists the new actions in the 400 of an unknown action, and filters by each', async () => {
    const res = await call('GET', '/admin/audit-log?action=event.steal', { session: admin });
    expect(res.statusCode).toBe(400);
    const [message] = res.json().message as string[];
    for (const action of [
      'event.create',
      'event.update',
      'event.delete',
      'performance.create',
      'performance.update',
      'performance.delete',
      'waiting-room.update',
      'waiting-room.delete',
    ]) {
      expect(message).toContain(action);
      const filtered = await call('GET', `/admin/audit-log?action=${action}&limit=100`, { session: admin });
      expect(filtered.statusCode, filtered.body).toBe(200);
      const items = filtered.json().items as { action: string }[];
      expect(items.length, action).toBeGreaterThan(0);
      expect(new Set(items.map((item) => item.action))).toEqual(new Set([action]));
    }
  });

  /** The seat ids of a performance, in layout order. */
  async function seatIdsOf(performanceId: number): Promise<number[]> {
    const rows = await db.query('SELECT id FROM seats WHERE performance_id = $1 ORDER BY position', [performanceId]);
    return rows.rows.map((row: { id: number }) => Number(row.id));
  }
});
