import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventRepository } from '@app/database';
import { AdminApi, startAdminApi } from './support/api';

const LAYOUT = [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 2 }];
const ONE_START =
  "give exactly one of startsAt (RFC 3339 with an explicit offset) and startsAtLocal (the venue's wall clock, YYYY-MM-DDTHH:mm[:ss] without an offset)";

/**
 * A performance's start on the venue's wall clock (`startsAtLocal`, no offset) at creation and in a
 * move, on real PostgreSQL and Redis: resolved with the event's time zone, one of it and `startsAt`
 * only, and a time clocks skip or repeat there refused with what to give instead.
 */
describe('performance starts on the venue wall clock (real PostgreSQL and Redis)', () => {
  let { admin, call, close, db } = {} as AdminApi;
  const eventIn: Record<string, number> = {};

  beforeAll(async () => {
    ({ admin, call, close, db } = await startAdminApi());
    for (const timeZone of ['Asia/Seoul', 'America/New_York']) {
      const event = await call('POST', '/events', {
        body: { title: timeZone, venue: 'Hall', timeZone },
        session: admin,
      });
      expect(event.statusCode, event.body).toBe(201);
      eventIn[timeZone] = event.json().id;
    }
  });
  afterAll(() => close?.());

  const create = (timeZone: string, fields: object) =>
    call('POST', `/events/${eventIn[timeZone]}/performances`, {
      body: { sections: LAYOUT, ...fields },
      session: admin,
    });
  const expect400 = (answer: { statusCode: number; body: string; json: () => { message: unknown } }) => {
    expect(answer.statusCode, answer.body).toBe(400);
    return answer.json().message;
  };

  it('creates and moves a performance at a local time, answering startsAt with its offset', async () => {
    const created = await create('Asia/Seoul', { startsAtLocal: '2030-05-01T19:00' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      startsAt: '2030-05-01T10:00:00.000Z',
      startsAtLocal: '2030-05-01T19:00:00+09:00',
      timeZone: 'Asia/Seoul',
    });
    const id = created.json().id;
    const moved = await call('PATCH', `/performances/${id}`, {
      body: { startsAtLocal: '2030-05-02T20:30:15' },
      session: admin,
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({
      startsAt: '2030-05-02T11:30:15.000Z',
      startsAtLocal: '2030-05-02T20:30:15+09:00',
    });
    // New York in summer is -04:00.
    const summer = await create('America/New_York', { startsAtLocal: '2030-07-04T21:00' });
    expect(summer.json()).toMatchObject({
      startsAt: '2030-07-05T01:00:00.000Z',
      startsAtLocal: '2030-07-04T21:00:00-04:00',
    });

    expect(
      expect400(
        await call('PATCH', `/performances/${id}`, {
          body: { startsAtLocal: '2030-05-03T19:00', startsAt: '2030-05-03T10:00:00Z' },
          session: admin,
        }),
      ),
    ).toBe(ONE_START);
    expect((await call('GET', `/performances/${id}`)).json().startsAt).toBe('2030-05-02T11:30:15.000Z');
  });

  it('refuses both or neither, an offset or a bad date in startsAtLocal, with the uniform body', async () => {
    expect(
      expect400(await create('Asia/Seoul', { startsAtLocal: '2030-05-01T19:00', startsAt: '2030-05-01T10:00:00Z' })),
    ).toBe(ONE_START);
    expect(expect400(await create('Asia/Seoul', {}))).toBe(ONE_START);
    for (const bad of ['2030-05-01T19:00Z', '2030-05-01T19:00+09:00', '2030-05-01 19:00', '2030-05-01']) {
      expect(expect400(await create('Asia/Seoul', { startsAtLocal: bad })), bad).toEqual([
        'startsAtLocal must be YYYY-MM-DDTHH:mm or YYYY-MM-DDTHH:mm:ss, without an offset',
      ]);
    }
    expect(expect400(await create('Asia/Seoul', { startsAtLocal: '2030-02-30T19:00' }))).toMatch(
      /^startsAtLocal must be a date-time on the venue's wall clock without an offset/,
    );
  });

  it('names the gap of a time clocks skip, and asks for the offset of a time they repeat', async () => {
    const skipped = await create('America/New_York', { startsAtLocal: '2030-03-10T02:30' });
    expect(expect400(skipped)).toBe(
      'startsAtLocal 2030-03-10T02:30 does not exist in America/New_York: clocks there jump from 02:00 to 03:00 that day (daylight saving time begins); give a time outside that gap',
    );
    expect(skipped.json()).toMatchObject({
      details: { startsAtLocal: '2030-03-10T02:30', timeZone: 'America/New_York' },
    });
    const repeated = await create('America/New_York', { startsAtLocal: '2030-11-03T01:30' });
    expect(expect400(repeated)).toBe(
      'startsAtLocal 2030-11-03T01:30 happens twice in America/New_York (clocks fall back that night): give startsAt with the offset you mean instead, 2030-11-03T01:30:00-04:00 (the first) or 2030-11-03T01:30:00-05:00 (the second)',
    );
    // The offset given settles it.
    const meant = await create('America/New_York', { startsAt: '2030-11-03T01:30:00-05:00' });
    expect(meant.json()).toMatchObject({
      startsAt: '2030-11-03T06:30:00.000Z',
      startsAtLocal: '2030-11-03T01:30:00-05:00',
    });
    // A move into the gap changes nothing.
    const id = meant.json().id;
    expect(
      expect400(
        await call('PATCH', `/performances/${id}`, { body: { startsAtLocal: '2031-03-09T02:00' }, session: admin }),
      ),
    ).toMatch(/^startsAtLocal 2031-03-09T02:00 does not exist in America\/New_York/);
    expect((await call('GET', `/performances/${id}`)).json().startsAt).toBe('2030-11-03T06:30:00.000Z');
  });

  it('works a local start out again on the zone the event has when the zone changed after it was read (review)', async () => {
    const event = await call('POST', '/events', {
      body: { title: 'Moved venue', venue: 'Hall', timeZone: 'Asia/Seoul' },
      session: admin,
    });
    const eventId = event.json().id;
    const read = EventRepository.prototype.findById;
    // The zone changes (committed) right after the create read the event: its insert must see it.
    const spy = vi.spyOn(EventRepository.prototype, 'findById').mockImplementationOnce(async function (
      this: EventRepository,
      id: number,
    ) {
      const row = await read.call(this, id);
      await db.query(`UPDATE events SET time_zone = 'America/New_York' WHERE id = $1`, [eventId]);
      return row;
    });
    try {
      const created = await call('POST', `/events/${eventId}/performances`, {
        body: { sections: LAYOUT, startsAtLocal: '2030-05-01T19:00' },
        session: admin,
      });
      expect(created.statusCode, created.body).toBe(201);
      expect(created.json()).toMatchObject({
        startsAt: '2030-05-01T23:00:00.000Z',
        startsAtLocal: '2030-05-01T19:00:00-04:00',
        timeZone: 'America/New_York',
      });
    } finally {
      spy.mockRestore();
    }
  });
});
