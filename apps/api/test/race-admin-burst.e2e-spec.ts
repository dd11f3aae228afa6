import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { caller, flushPurchases } from './purchase-helpers';
import { startTestApi } from './support/api';
import { AnswerLog, expectSeatsConsistent, fastBuyer, RACE_API_ENV } from './support/races';

const ROUNDS = 6;

/**
 * Operators against operators and buyers, all at once on one performance: cancels (three admins
 * at the same moment), deletes, status and price PATCHes, blocks and releases, a waiting room set,
 * sales reports, and buyers holding and buying meanwhile. Each route answers one of its own 2xx or
 * 4xx (never a 5xx, P7); exactly one cancel is the first (202), the others see it (200); and the
 * seats end in step.
 */
describe('a burst of operators’ changes on one performance (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let db: Client;
  let admins: TestSession[];
  let call: ReturnType<typeof caller>;

  beforeAll(async () => {
    api = await startTestApi({
      ...RACE_API_ENV,
      PURCHASE_FLUSH_AGE_SECONDS: '0',
    });
    db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    call = caller(api.app);
    admins = await Promise.all([1, 2, 3].map(() => createSession(api.app, { role: Role.Admin })));
  });
  afterAll(async () => {
    await db?.end();
    await api?.close();
  });

  it('answers every change with a 2xx or 4xx, cancels once, and keeps the seats in step', async () => {
    const log = new AnswerLog();
    for (let round = 0; round < ROUNDS; round++) {
      const [admin] = admins;
      const event = await call('POST', '/events', { body: { title: 'Burst', venue: 'Hall' }, session: admin });
      const created = await call('POST', `/events/${event.json().id}/performances`, {
        body: {
          startsAt: '2030-01-01T19:00:00Z',
          salesOpenAt: '2020-01-01T00:00:00Z',
          sections: [{ name: 'Floor', grade: 'A', price: 1000, rows: 5, seatsPerRow: 20 }],
        },
        session: admin,
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json().id as number;
      const seatIds = (await db.query('SELECT id FROM seats WHERE performance_id = $1 ORDER BY id', [id])).rows.map(
        (row: { id: number }) => row.id,
      );
      const buyers = await Promise.all(Array.from({ length: 30 }, () => fastBuyer(api)));
      const admin2 = admins[1];
      const admin3 = admins[2];
      const ops: [string, () => Promise<{ statusCode: number; body: string }>][] = [
        ...admins.map(
          (a, i) =>
            [
              `cancel`,
              () => call('POST', `/admin/performances/${id}/cancel`, { body: { reason: `r${i}` }, session: a }),
            ] as [string, () => Promise<{ statusCode: number; body: string }>],
        ),
        ['delete', () => call('DELETE', `/performances/${id}`, { session: admin2 })],
        ['pause', () => call('PATCH', `/performances/${id}`, { body: { status: 'PAUSED' }, session: admin3 })],
        ['resume', () => call('PATCH', `/performances/${id}`, { body: { status: 'ON_SALE' }, session: admin2 })],
        ['limit', () => call('PATCH', `/performances/${id}`, { body: { maxTicketsPerBuyer: 2 }, session: admin })],
        [
          'price',
          () => call('PATCH', `/performances/${id}/sections/Floor`, { body: { price: 1500 }, session: admin3 }),
        ],
        [
          'block',
          () =>
            call('POST', `/admin/performances/${id}/seat-blocks`, {
              body: { section: 'Floor', rows: ['A'], onlyFree: true },
              session: admin2,
            }),
        ],
        [
          'release',
          () =>
            call('POST', `/admin/performances/${id}/seat-blocks/release`, {
              body: { section: 'Floor' },
              session: admin,
            }),
        ],
        [
          'queue',
          () =>
            call('PUT', `/performances/${id}/queue`, {
              body: {
                opensAt: '2020-01-01T00:00:00Z',
                admitPerSecond: 10,
                maxActive: 10,
                admissionTtlSeconds: 60,
                sessionTtlSeconds: 60,
              },
              session: admin3,
            }),
        ],
        ['sales', () => call('GET', `/performances/${id}/sales`, { session: admin })],
        ['attendees', () => call('GET', `/performances/${id}/attendees`, { session: admin2 })],
        ['sections', () => call('GET', `/performances/${id}/sections`)],
        ['map', () => call('GET', `/performances/${id}/map`)],
      ];
      // Shuffle the operators' order each round.
      ops.sort(() => Math.random() - 0.5);
      const buying = buyers.map(async (headers, i) => {
        const held = await api.app.inject({
          method: 'POST',
          url: '/api/v1/reservations',
          headers,
          payload:
            i % 2 === 0
              ? { performanceId: id, seatIds: seatIds.slice(3 * i, 3 * i + 2) }
              : { performanceId: id, quantity: 2 },
        });
        log.note('hold', held);
        if (held.statusCode !== 201) return;
        const bought = await api.app.inject({
          method: 'POST',
          url: '/api/v1/purchases',
          headers,
          payload: { reservationId: held.json().id },
        });
        log.note('purchase', bought);
      });
      const answers = await Promise.all(
        ops.map(async ([what, op]) => {
          const res = await op();
          log.note(what, res);
          return { what, res };
        }),
      );
      await Promise.all(buying);
      const cancels = answers.filter((a) => a.what === 'cancel').map((a) => a.res.statusCode);
      const deleted = answers.some((a) => a.what === 'delete' && a.res.statusCode === 204);
      if (!deleted) {
        expect(cancels.filter((s) => s === 202).length, `round ${round}: cancels ${cancels}`).toBe(1);
        expect(cancels.filter((s) => s === 200).length, `round ${round}: cancels ${cancels}`).toBe(2);
        // Sales that landed before the cancel closed them are in Redis: written to PostgreSQL
        // first, as `batch` would, so the sold letters can be compared with active tickets.
        await flushPurchases(api.app);
        await expectSeatsConsistent(api, db, id);
      }
    }
    log.expectNo5xx();
  });
});
