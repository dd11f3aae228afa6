import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, TestSession } from '@app/testing';
import { startApiWithSessions } from './support/api';
import { expectUniform, jsonCaller, nonCanonicalSpellings } from './support/http';

/**
 * The HTTP edge's refusals a tester found answered 200 (or with misleading words): numbers in
 * paths and query strings in any spelling `Number()` reads, query strings that do not decode,
 * `__proto__` in a body, bodies on routes that take none, empty PATCHes, and messages that did not
 * say what was wrong. Each is a 400 (or a 409 naming what was asked) with the uniform body.
 */
const LAYOUT = [{ name: 'A', grade: 'R', price: 1000, rows: 2, seatsPerRow: 5 }];

describe('the HTTP edge refuses what is not a clear request (400, uniform body)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let user: TestSession;
  let eventId: number;
  let performanceId: number;

  beforeAll(async () => {
    ({ api, admin, user } = await startApiWithSessions());
    const event = await call('POST', '/events', { title: 'Edge', venue: 'Hall' }, admin);
    expect(event.statusCode).toBe(201);
    eventId = event.json().id;
    const performance = await call(
      'POST',
      `/events/${eventId}/performances`,
      { startsAt: '2030-03-01T19:00:00Z', sections: LAYOUT },
      admin,
    );
    expect(performance.statusCode).toBe(201);
    performanceId = performance.json().id;
  });
  afterAll(async () => api?.close());

  const call = jsonCaller(() => api.app);

  it('answers the tester’s spellings of ids and limits with 400', async () => {
    for (const path of ['0x2', '0b10', '0o2', '+2', '%2B2', '2.0', '%202', '02', '1e0'].map((id) => `/events/${id}`)) {
      expectUniform(await call('GET', path), 400);
    }
    expectUniform(await call('GET', '/performances/0x3'), 400);
    for (const limit of ['1e2', '0x10', '%205', '05', '+5'])
      expectUniform(await call('GET', `/events?limit=${limit}`), 400);
    expectUniform(await call('GET', `/performances/${performanceId}/seats?minPrice=01000`), 400);
    expectUniform(await call('GET', '/admin/purchases?performanceId=0x1', undefined, admin), 400);
  });

  it('takes only the canonical spelling of an id or a limit, whatever the number (generated)', async () => {
    const routes = [`/events/{n}`, `/performances/{n}`, `/events/{n}/performances`, `/performances/{n}/sections`];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (route, n) => {
        const canonical = await call('GET', route.replace('{n}', String(n)));
        expect(canonical.statusCode).not.toBe(400);
        for (const spelling of nonCanonicalSpellings(n)) {
          expectUniform(await call('GET', route.replace('{n}', spelling)), 400);
        }
      }),
      { numRuns: 25 },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100 }), async (n) => {
        expect((await call('GET', `/events?limit=${n}`)).statusCode).toBe(200);
        expect((await call('GET', `/performances/${performanceId}/seats?limit=${n}`)).statusCode).toBe(200);
        for (const spelling of nonCanonicalSpellings(n)) {
          expectUniform(await call('GET', `/events?limit=${spelling}`), 400);
          expectUniform(await call('GET', `/performances/${performanceId}/seats?limit=${spelling}`), 400);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a query string that does not decode, on every route', async () => {
    for (const url of ['/events?q=%zz', '/events?q=%C3%28', `/events/${eventId}?x=%zz`, '/purchases?limit=%C3%28']) {
      const body = expectUniform(await call('GET', url, undefined, user), 400);
      expect(body.message).toEqual(['the query string is not valid percent-encoded UTF-8']);
    }
  });

  it('names __proto__ and constructor in a body as properties that should not exist', async () => {
    const raw = `{"performanceId":${performanceId},"seatIds":[1],"__proto__":{"x":1}}`;
    const body = expectUniform(await call('POST', '/reservations', raw, user), 400);
    expect(body.message).toEqual(['property __proto__ should not exist']);
    const ctor = `{"title":"t","venue":"v","constructor":{"prototype":{"x":1}}}`;
    expect(expectUniform(await call('POST', '/events', ctor, admin), 400).message).toEqual([
      'property constructor should not exist',
    ]);
  });

  it('refuses fields in a body sent to a route that takes none', async () => {
    const purchase = '00000000-0000-4000-8000-000000000000';
    const body = expectUniform(await call('POST', `/purchases/${purchase}/cancel`, { x: 1 }, user), 400);
    expect(body.message).toEqual(['property x should not exist']);
    expectUniform(await call('DELETE', `/events/${eventId}`, { force: true }, admin), 400);
    expect((await call('GET', `/events/${eventId}`)).statusCode).toBe(200);
    // {} is a body too: refused before anything is looked up; no body at all reaches the route.
    expect(expectUniform(await call('POST', `/purchases/${purchase}/cancel`, {}, user), 400).message).toEqual([
      'this route takes no body',
    ]);
    expectUniform(await call('POST', `/purchases/${purchase}/cancel`, undefined, user), 404);
    // Whatever its content type (elsewhere a 415): the route takes none.
    for (const type of ['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded']) {
      const other = await call('POST', `/purchases/${purchase}/cancel`, 'x=1', user, { 'content-type': type });
      expect(expectUniform(other, 400).message, type).toEqual(['this route takes no body']);
    }
    expectUniform(await call('POST', '/reservations', 'x=1', user, { 'content-type': 'text/plain' }), 415);
  });

  it('refuses a PATCH that changes nothing, for events as for performances', async () => {
    const event = expectUniform(await call('PATCH', `/events/${eventId}`, {}, admin), 400);
    expect(event.message).toMatch(/^nothing to change/);
    const performance = expectUniform(await call('PATCH', `/performances/${performanceId}`, {}, admin), 400);
    expect(performance.message).toMatch(/^nothing to change/);
  });

  it('says the same about every quantity out of range, and names accessible seats when none fit', async () => {
    const hold = (body: object) => call('POST', '/reservations', { performanceId, ...body }, user);
    const tooMany = expectUniform(await hold({ quantity: 101 }), 400).message;
    expect(tooMany).toEqual(['quantity must be an integer from 1 to 100']);
    expect(expectUniform(await hold({ quantity: 1e30 }), 400).message).toEqual(tooMany);
    expect(expectUniform(await hold({ quantity: 0 }), 400).message).toEqual(tooMany);
    // Within the request bound but over the per-user limit: the limit's 409, as for seat ids.
    expect(expectUniform(await hold({ quantity: 5 }), 409).message).toMatch(/may hold at most \d+ seats/);
    const none = expectUniform(await hold({ quantity: 1, accessible: true }), 409);
    expect(none.message).toMatch(/no accessible seat \(a wheelchair space/);
  });

  it('says a past startsAt is in the past when sales would open now', async () => {
    const res = await call(
      'POST',
      `/events/${eventId}/performances`,
      { startsAt: '2020-03-01T19:00:00Z', sections: LAYOUT },
      admin,
    );
    expect(expectUniform(res, 400).message).toMatch(/startsAt must be in the future/);
  });

  describe('look-alike free text (FreeText: NFC, trimmed, no control or format characters)', () => {
    const FORMAT = ['\u202E', '\u202A', '\u2066', '\u2069', '\u200E', '\u200F', '\u061C', '\u200B', '\uFEFF'];
    const hex = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

    it('refuses a bidi or invisible character in every free-text field, naming field and character', async () => {
      const section = LAYOUT[0];
      await fc.assert(
        // Inside the text: at either end U+FEFF would be trimmed away as white space.
        fc.asyncProperty(fc.constantFrom(...FORMAT), fc.integer({ min: 1, max: 8 }), async (c, position) => {
          const text = `${'NightShow'.slice(0, position)}${c}${'NightShow'.slice(position)}`;
          const says = (field: string) =>
            `${field} must not contain control, bidirectional or invisible format characters (${hex(c)} at position ${position})`;
          const cases: [string, string, unknown, TestSession | undefined, string][] = [
            ['POST', '/events', { title: text, venue: 'Hall' }, admin, 'title'],
            ['POST', '/events', { title: 'T', venue: text }, admin, 'venue'],
            ['POST', '/events', { title: 'T', venue: 'V', description: text }, admin, 'description'],
            ['PATCH', `/events/${eventId}`, { title: text }, admin, 'title'],
            ['GET', `/events?q=${encodeURIComponent(text)}`, undefined, undefined, 'q'],
            [
              'POST',
              `/events/${eventId}/performances`,
              { startsAt: '2030-03-01T19:00:00Z', sections: [{ ...section, name: text }] },
              admin,
              'sections.0.name',
            ],
          ];
          for (const [method, url, payload, session, field] of cases) {
            const body = expectUniform(await call(method, url, payload, session), 400);
            expect({ url, message: body.message }).toEqual({ url, message: expect.arrayContaining([says(field)]) });
          }
        }),
        { numRuns: 12 },
      );
      // Once for signup (its rate limit counts every try).
      const signup = await call('POST', '/auth/signup', {
        email: 'lookalike@example.com',
        password: 'correct horse',
        name: 'Ada\u202Eecalevol',
      });
      expect(expectUniform(signup, 400).message).toEqual([
        'name must not contain control, bidirectional or invisible format characters (U+202E at position 3)',
      ]);
      // Names in filters: their alphabet already leaves the character out.
      expectUniform(await call('GET', `/performances/${performanceId}/seats?section=A%E2%80%AE`), 400);
      expectUniform(await call('POST', '/reservations', { performanceId, quantity: 1, section: 'A\u202E' }, user), 400);
    });

    it('stores and compares free text trimmed and in NFC: `A` and `A ` are one section name', async () => {
      const event = await call('POST', '/events', { title: ' Cafe\u0301 Night\u3000', venue: '\tHall ' }, admin);
      expect(event.statusCode).toBe(201);
      expect(event.json()).toMatchObject({ title: 'Caf\u00e9 Night', venue: 'Hall' });
      const twins = await call(
        'POST',
        `/events/${event.json().id}/performances`,
        { startsAt: '2030-03-01T19:00:00Z', sections: [LAYOUT[0], { ...LAYOUT[0], name: 'A ' }] },
        admin,
      );
      expect(expectUniform(twins, 400).message).toBe('section names must be unique within a performance');
      const blank = expectUniform(await call('POST', '/events', { title: ' \u3000 ', venue: 'Hall' }, admin), 400);
      expect(blank.message).toEqual(['title must not be blank']);
      const both = expectUniform(await call('POST', '/events', { title: '  ', venue: '\t\n' }, admin), 400);
      expect(both.message).toEqual(['title must not be blank', 'venue must not be blank']);
      const signup = await call('POST', '/auth/signup', {
        email: 'blank-name@example.test',
        password: 'correct horse battery staple',
        name: '   ',
      });
      expect(expectUniform(signup, 400).message).toEqual(['name must not be blank']);
      // A filter and a path name find the section whatever the white space around them.
      const seats = await call('GET', `/performances/${performanceId}/seats?section=A%20`);
      expect(seats.statusCode).toBe(200);
      expect(seats.json().items.length).toBeGreaterThan(0);
      const price = await call('PATCH', `/performances/${performanceId}/sections/A%20`, { price: 1000 }, admin);
      expect(price.statusCode, price.body).toBe(200);
    });
  });
});
