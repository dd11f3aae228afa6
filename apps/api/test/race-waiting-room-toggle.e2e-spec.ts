import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { createSession, TestSession } from '@app/testing';
import { WaitingRoomStore } from '@app/ticketing';
import { AdminApi, startAdminApi } from './support/api';
import { AnswerLog, expectSeatsConsistent, fastBuyer, RACE_API_ENV } from './support/races';

const ROUNDS = 60;

/**
 * Two operators turn a performance's waiting room on (PUT) and off (DELETE) at the same moment
 * while buyers hold seats without an admission token. Whatever the order, the room PostgreSQL
 * keeps (what GET shows, what the operator was told) and the room Redis enforces must end the
 * same: a room PostgreSQL has refuses holds without admission (403); a room it does not have
 * refuses none. No 5xx, and the seats in step.
 */
describe('waiting room turned on and off while buyers hold (real PostgreSQL and Redis)', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let other: TestSession;

  beforeAll(async () => {
    // No cached room state: every request reads Redis.
    ({ api, db, admin, call, close } = await startAdminApi({
      ...RACE_API_ENV,
      WAITING_ROOM_CACHE_MS: '0',
    }));
    other = await createSession(api.app, { role: Role.Admin });
  });
  afterAll(() => close?.());

  it('ends with the room PostgreSQL keeps being the room Redis enforces, round after round', async () => {
    const event = await call('POST', '/events', { body: { title: 'Queue', venue: 'Hall' }, session: admin });
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      body: {
        startsAt: '2030-01-01T19:00:00Z',
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: [{ name: 'Floor', grade: 'A', price: 1000, rows: 10, seatsPerRow: 40 }],
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const performanceId = created.json().id as number;
    const seatIds = (
      await db.query('SELECT id FROM seats WHERE performance_id = $1 ORDER BY id', [performanceId])
    ).rows.map((row: { id: number }) => row.id);
    const settings = {
      opensAt: '2020-01-01T00:00:00Z',
      admitPerSecond: 100,
      maxActive: 1000,
      admissionTtlSeconds: 600,
      sessionTtlSeconds: 600,
    };
    const url = `/performances/${performanceId}/queue`;
    const log = new AnswerLog();
    const diverged: string[] = [];
    let next = 0;

    for (let round = 0; round < ROUNDS && diverged.length === 0; round++) {
      // Start from a room that is on, or off, by turns.
      if (round % 2 === 0) log.note('setup delete', await call('DELETE', url, { session: admin }));
      else log.note('setup put', await call('PUT', url, { body: settings, session: admin }));
      const buyers = await Promise.all(Array.from({ length: 4 }, () => fastBuyer(api)));
      const [put, removed] = await Promise.all([
        call('PUT', url, { body: { ...settings, admitPerSecond: 100 + round }, session: admin }),
        // Sent a little later by turns (0-4 ms), so every interleaving of the two gets its chance.
        new Promise((resolve) => setTimeout(resolve, round % 5)).then(() => call('DELETE', url, { session: other })),
        ...buyers.map(async (headers) => {
          const ids = seatIds.slice(next, next + 1);
          next += 1;
          const held = await api.app.inject({
            method: 'POST',
            url: '/api/v1/reservations',
            headers,
            payload: { performanceId, seatIds: ids },
          });
          log.note('hold', held);
          expect([201, 403], held.body).toContain(held.statusCode);
          return held;
        }),
      ]);
      log.note('put', put);
      log.note('delete', removed);
      const inPostgres =
        (await db.query('SELECT 1 FROM waiting_rooms WHERE performance_id = $1', [performanceId])).rowCount === 1;
      const inRedis = (await api.app.get(WaitingRoomStore).queueState(performanceId)) === 'on';
      if (inPostgres !== inRedis) {
        diverged.push(
          `round ${round}: PUT ${put.statusCode}, DELETE ${removed.statusCode}; PostgreSQL ${inPostgres ? 'has' : 'has no'} room, Redis ${inRedis ? 'enforces one' : 'enforces none'}`,
        );
        // What an operator sees then (GET mirrors a room PostgreSQL has into Redis again).
        const shown = await call('GET', url);
        diverged.push(`round ${round}: GET ${url} answers ${shown.statusCode}`);
      }
      // What a buyer meets now agrees with what PostgreSQL (and GET) says.
      const probe = await api.app.inject({
        method: 'POST',
        url: '/api/v1/reservations',
        headers: await fastBuyer(api),
        payload: { performanceId, seatIds: seatIds.slice(next, next + 1) },
      });
      next += 1;
      log.note('probe hold', probe);
      if (probe.statusCode !== (inPostgres ? 403 : 201)) {
        diverged.push(
          `round ${round}: PostgreSQL ${inPostgres ? 'has' : 'has no'} room, a hold without admission answered ${probe.statusCode}`,
        );
      }
    }
    log.expectNo5xx();
    expect(diverged, JSON.stringify(log.summary())).toEqual([]);
    await expectSeatsConsistent(api, db, performanceId);
  });

  it('stays off once DELETE answered 204, whatever anonymous GETs of the room race it', async () => {
    const event = await call('POST', '/events', { body: { title: 'Queue', venue: 'Hall' }, session: admin });
    const created = await call('POST', `/events/${event.json().id}/performances`, {
      body: {
        startsAt: '2030-01-01T19:00:00Z',
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: [{ name: 'Floor', grade: 'A', price: 1000, rows: 2, seatsPerRow: 40 }],
      },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const performanceId = created.json().id as number;
    const seatIds = (
      await db.query('SELECT id FROM seats WHERE performance_id = $1 ORDER BY id', [performanceId])
    ).rows.map((row: { id: number }) => row.id);
    const url = `/performances/${performanceId}/queue`;
    const settings = {
      opensAt: '2020-01-01T00:00:00Z',
      admitPerSecond: 100,
      maxActive: 1000,
      admissionTtlSeconds: 600,
      sessionTtlSeconds: 600,
    };
    const log = new AnswerLog();
    const diverged: string[] = [];
    for (let round = 0; round < ROUNDS && diverged.length === 0; round++) {
      log.note('put', await call('PUT', url, { body: settings, session: admin }));
      const [removed] = await Promise.all([
        new Promise((resolve) => setTimeout(resolve, round % 4)).then(() => call('DELETE', url, { session: admin })),
        ...Array.from({ length: 6 }, async () => log.note('get', await call('GET', url))),
      ]);
      log.note('delete', removed);
      expect(removed.statusCode, removed.body).toBe(204);
      const inRedis = (await api.app.get(WaitingRoomStore).queueState(performanceId)) === 'on';
      const probe = await api.app.inject({
        method: 'POST',
        url: '/api/v1/reservations',
        headers: await fastBuyer(api),
        payload: { performanceId, seatIds: [seatIds[round]] },
      });
      log.note('probe hold', probe);
      if (inRedis || probe.statusCode !== 201) {
        diverged.push(
          `round ${round}: DELETE answered 204, yet Redis ${inRedis ? 'enforces a room' : 'enforces none'}, GET answers ${(await call('GET', url)).statusCode}, a hold without admission answers ${probe.statusCode}`,
        );
      }
    }
    log.expectNo5xx();
    expect(diverged, JSON.stringify(log.summary())).toEqual([]);
  });
});
