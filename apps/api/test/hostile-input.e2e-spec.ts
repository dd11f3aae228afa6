import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { JwtService } from '@nestjs/jwt';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Env } from '@app/config';
import { ApiHarness, freePort, TestSession } from '@app/testing';
import { FRAGMENT_REFUSED } from '../src/bootstrap';
import { CONNECT_REFUSED, EXPECTATION_REFUSED } from '../src/common/fastify-errors';
import { startApiWithSessions } from './support/api';
import { createPerformance } from './purchase-helpers';
import { ERROR_KEYS, expectUniform, jsonCaller } from './support/http';

/**
 * Every example of issue 11 "Input that reaches a 5xx": each answered 500 (or was accepted)
 * before, each must be a 4xx with the uniform error body.
 */
const LAYOUT = [{ name: 'A', grade: 'R', price: 1000, rows: 1, seatsPerRow: 4 }];
const cursorOf = (key: object) => Buffer.from(JSON.stringify(key)).toString('base64url');

function nested(depth: number): unknown {
  let value: unknown = 'correct horse battery';
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

/**
 * Sends raw bytes over one connection and returns everything the server wrote before closing;
 * `halfClose: false` keeps the client's side open (a route that answers later than the request's
 * end would find its socket gone: send `Connection: close` then).
 */
function rawRequest(port: number, request: string, { halfClose = true } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => (halfClose ? socket.end(request) : socket.write(request)));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(Buffer.concat(chunks).toString()) : reject(error),
    );
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

function parseRaw(response: string): { status: number; headers: string; body: Record<string, unknown> } {
  const [head, ...rest] = response.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(rest.join('\r\n\r\n')) };
}

/** What Node's HTTP server reads as `Expect: 100-continue` (its `continueExpression`): a request as any other. */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

describe('hostile input answers a 4xx with the uniform body (issue 11)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let user: TestSession;
  let eventId: number;
  let port: number;

  beforeAll(async () => {
    ({ api, admin, user } = await startApiWithSessions());
    port = await freePort();
    await api.app.listen({ port, host: '127.0.0.1' });
    const event = await call('POST', '/events', { title: 'Concert', venue: 'Hall' }, admin);
    expect(event.statusCode).toBe(201);
    eventId = event.json().id;
  });
  afterAll(async () => api?.close());

  const call = jsonCaller(() => api.app);
  /** How many events PostgreSQL has with this title (the catalog's list may be a cached page). */
  const eventsTitled = async (title: string): Promise<number> =>
    (await api.app.get(DataSource).query('SELECT 1 FROM events WHERE title = $1', [title])).length;

  const signup = { email: 'hostile@example.test', password: 'correct horse battery', name: 'Ada' };

  describe('deep nesting', () => {
    it('refuses a signup whose password is 1,400 nested arrays', async () => {
      const body = expectUniform(await call('POST', '/auth/signup', { ...signup, password: nested(1400) }), 400);
      expect(body.message).toMatch(/nests deeper than 32/);
    });

    it('refuses deep nesting on an admin route and in a section layout', async () => {
      expectUniform(await call('POST', '/events', { title: 't', venue: 'v', description: nested(100) }, admin), 400);
      const sections = [{ ...LAYOUT[0], name: nested(40) }];
      const url = `/events/${eventId}/performances`;
      expectUniform(await call('POST', url, { startsAt: '2027-03-01T19:00:00Z', sections }, admin), 400);
    });

    it('still accepts the nesting real bodies have', async () => {
      const res = await call(
        'POST',
        `/events/${eventId}/performances`,
        { startsAt: '2027-03-01T19:00:00Z', sections: LAYOUT },
        admin,
      );
      expect(res.statusCode).toBe(201);
    });
  });

  describe('control characters and malformed Unicode', () => {
    it.each([
      ['U+0000 in a signup name', '/auth/signup', { ...signup, name: 'Ada\u0000' }, 'name'],
      ['U+0000 in a password', '/auth/login', { email: signup.email, password: 'pass\u0000word' }, 'password'],
      ['U+001B in an e-mail', '/auth/signup', { ...signup, email: 'a\u001b@example.test' }, 'email'],
      ['U+0000 in a password-reset e-mail', '/auth/password-reset', { email: 'a\u0000@example.test' }, 'email'],
      [
        'U+0000 in a reset token',
        '/auth/password-reset/confirm',
        { token: 'tok\u0000en', password: signup.password },
        'token',
      ],
    ])('refuses %s', async (_name, url, payload, field) => {
      const body = expectUniform(await call('POST', url, payload), 400);
      expect(body.message).toEqual([`${field} must not contain control characters`]);
    });

    it('refuses U+0000 in an admin text field and in a query parameter', async () => {
      const body = expectUniform(await call('POST', '/events', { title: 'a\u0000b', venue: 'v' }, admin), 400);
      expect(body.message).toEqual(['title must not contain control characters']);
      expectUniform(await call('GET', '/events?cursor=%00'), 400);
      expectUniform(await call('PATCH', `/events/${eventId}`, { description: 'x\u0000' }, admin), 400);
    });

    it('keeps tab and line breaks in text', async () => {
      const res = await call('POST', '/events', { title: 'Tour', venue: 'Hall', description: 'a\n\tb\r\n' }, admin);
      expect(res.statusCode).toBe(201);
    });

    it.each([
      ['a lone high surrogate', '{"email":"a@b.io","password":"correct horse\\ud800","name":"Ada"}', 'password'],
      ['a lone low surrogate', '{"email":"a\\udc00@b.io","password":"correct horse","name":"Ada"}', 'email'],
    ])('refuses %s in a string', async (_name, raw, field) => {
      const body = expectUniform(await call('POST', '/auth/signup', raw), 400);
      expect(body.message).toEqual([`${field} must not contain malformed Unicode`]);
    });
  });

  describe('lengths counted as PostgreSQL counts them (code points)', () => {
    const heart = '\u2764\uFE0F'; // two code points; class-validator's own MaxLength counted one
    it.each([
      [
        'a signup name of 100 emoji with their presentation selector',
        '/auth/signup',
        { ...signup, email: 'heart@example.test', name: heart.repeat(100) },
        'name must be shorter than or equal to 100 characters',
        false,
      ],
      [
        'an event title of 200 of them',
        '/events',
        { title: heart.repeat(200), venue: 'Hall' },
        'title must be shorter than or equal to 200 characters',
        true,
      ],
      [
        'an event venue of 101 of them',
        '/events',
        { title: 'Hearts venue', venue: heart.repeat(101) },
        'venue must be shorter than or equal to 200 characters',
        true,
      ],
    ])('refuses %s with a 400, storing nothing', async (_name, url, payload, message, asAdmin) => {
      const body = expectUniform(await call('POST', url, payload, asAdmin ? admin : undefined), 400);
      expect(body.message).toEqual([message]);
      if (url === '/events') expect(await eventsTitled((payload as { title: string }).title)).toBe(0);
    });

    it('takes a value of exactly the limit in code points', async () => {
      const res = await call('POST', '/events', { title: heart.repeat(100), venue: '\u{1D400}'.repeat(200) }, admin);
      expect(res.statusCode).toBe(201);
      const name = await call('POST', '/auth/signup', {
        ...signup,
        email: 'hearts@example.test',
        name: heart.repeat(50),
      });
      expect(name.statusCode).toBe(201);
    });

    it('refuses the same on a change of an event', async () => {
      const body = expectUniform(await call('PATCH', `/events/${eventId}`, { title: heart.repeat(200) }, admin), 400);
      expect(body.message).toEqual(['title must be shorter than or equal to 200 characters']);
    });
  });

  describe('bytes and content types', () => {
    it('refuses a body that is not valid UTF-8 instead of storing U+FFFD', async () => {
      const res = await api.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        payload: Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","venue":"v"}')]),
        headers: { 'content-type': 'application/json', ...admin.headers },
      });
      expect(expectUniform(res, 400).message).toBe('body is not valid UTF-8');
    });

    it.each([['gzip'], ['br'], ['deflate'], ['GZIP'], ['identity, gzip'], ['x-unknown']])(
      'answers 415 to a JSON body sent with content-encoding %s',
      async (encoding) => {
        const json = JSON.stringify({ title: 'T', venue: 'V' });
        const res = await api.app.inject({
          method: 'POST',
          url: '/api/v1/events',
          payload: encoding.toLowerCase() === 'gzip' ? gzipSync(json) : json,
          headers: { 'content-type': 'application/json', 'content-encoding': encoding, ...admin.headers },
        });
        expect(expectUniform(res, 415).message).toBe(
          'content encoding is not supported: send the body uncompressed (identity)',
        );
      },
    );

    it.each([
      ['at the top', '{"title":"A","venue":"V","title":"B"}'],
      ['in a nested object', '{"title":"A","venue":"V","x":{"a":1,"a":2}}'],
      ['with the same value', '{"title":"A","title":"A","venue":"V"}'],
    ])('refuses a JSON body that names a property twice %s', async (_name, payload) => {
      const res = await api.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        payload,
        headers: { 'content-type': 'application/json', ...admin.headers },
      });
      expect(expectUniform(res, 400).message).toBe('JSON names a property twice in one object');
    });

    it('takes colons inside strings and the same name in different objects', async () => {
      const res = await call(
        'POST',
        `/events/${eventId}/performances`,
        {
          startsAt: '2027-03-01T19:00:00+09:00',
          sections: [
            { name: 'A', grade: 'R', price: 1000, rows: 1, seatsPerRow: 2 },
            { name: 'B', grade: 'R', price: 1000, rows: 1, seatsPerRow: 2 },
          ],
        },
        admin,
      );
      expect(res.statusCode, res.body).toBe(201);
      const titled = await call(
        'POST',
        '/events',
        { title: 'Act 1: "Dawn"', venue: 'Hall: east', description: '{"a":1,"a":2}' },
        admin,
      );
      expect(titled.statusCode, titled.body).toBe(201);
      expect(titled.json()).toMatchObject({ title: 'Act 1: "Dawn"', description: '{"a":1,"a":2}' });
    });

    it('reads a body sent with content-encoding identity', async () => {
      const res = await api.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        payload: JSON.stringify({ title: 'Plain', venue: 'V' }),
        headers: { 'content-type': 'application/json', 'content-encoding': 'identity', ...admin.headers },
      });
      expect(res.statusCode).toBe(201);
    });

    it.each([
      'application/json; charset=utf-16',
      'application/json; charset=UTF-16LE',
      'application/json;charset="utf-16"',
      'application/json; charset=iso-8859-1',
      'application/json; charset=',
      'application/json; charset=utf-8; charset=utf-16',
    ])('answers 415 to a JSON body sent as %s, and creates nothing', async (contentType) => {
      const title = `Charset ${contentType}`;
      const res = await call('POST', '/events', JSON.stringify({ title, venue: 'V' }), admin, {
        'content-type': contentType,
      });
      expect(expectUniform(res, 415).message).toBe(
        'Unsupported charset: send application/json in UTF-8 (charset=utf-8 or none)',
      );
      expect(await eventsTitled(title)).toBe(0);
    });

    it.each(['application/json; charset=utf-8', 'APPLICATION/JSON;CHARSET=UTF-8', 'application/json; charset="utf-8"'])(
      'reads a JSON body sent as %s',
      async (contentType) => {
        const res = await call('POST', '/events', JSON.stringify({ title: 'UTF-8', venue: 'V' }), admin, {
          'content-type': contentType,
        });
        expect(res.statusCode).toBe(201);
      },
    );

    it('answers 415 to a JSON body sent as text/plain', async () => {
      const res = await call('POST', '/events', JSON.stringify({ title: 'T', venue: 'V' }), admin, {
        'content-type': 'text/plain',
      });
      expectUniform(res, 415);
    });

    it('answers 404, not 400, for a reservation id that is a uuid of another version', async () => {
      expectUniform(await call('GET', '/reservations/6ba7b810-9dad-11d1-80b4-00c04fd430c8', undefined, user), 404);
    });

    it('finds a hold and a purchase by their upper-case ids (UUIDs are case-insensitive, RFC 4122)', async () => {
      const performance = await createPerformance(api.app, admin, 2);
      const held = await call(
        'POST',
        '/reservations',
        { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
        user,
      );
      expect(held.statusCode, held.body).toBe(201);
      const holdId: string = held.json().id;
      const read = await call('GET', `/reservations/${holdId.toUpperCase()}`, undefined, user);
      expect(read.statusCode, `GET hold: ${read.body}`).toBe(200);
      expect(read.json().id, 'GET hold').toBe(holdId);
      const bought = await call('POST', '/purchases', { reservationId: holdId.toUpperCase() }, user);
      expect(bought.statusCode, `POST purchase: ${bought.body}`).toBe(201);
      expect(bought.json().reservationId, 'POST purchase').toBe(holdId);
      const purchaseId: string = bought.json().id;
      const purchase = await call('GET', `/purchases/${purchaseId.toUpperCase()}`, undefined, user);
      expect(purchase.statusCode, `GET purchase: ${purchase.body}`).toBe(200);
      expect(purchase.json().id, 'GET purchase').toBe(purchaseId);
    });
  });

  describe('keyset cursors', () => {
    it.each([
      ['an event id beyond a PostgreSQL integer', '/events?cursor=eyJpIjoyMTQ3NDgzNjQ4fQ'],
      ['a huge seat position', `/performances/1/seats?cursor=${cursorOf({ p: 2 ** 40 })}`],
      [
        'a start time PostgreSQL cannot hold',
        `/events/1/performances?cursor=${cursorOf({ s: '+275760-09-13T00:00:00.000Z', i: 1 })}`,
      ],
      ['a start time that is not a date', `/events/1/performances?cursor=${cursorOf({ s: '1', i: 1 })}`],
      ['a start time without offset', `/events/1/performances?cursor=${cursorOf({ s: '2027-03-01T19:00:00', i: 1 })}`],
    ])('refuses %s', async (_name, url) => {
      const body = expectUniform(await call('GET', url.replace('/events/1/', `/events/${eventId}/`)), 400);
      expect(body.message).toBe('cursor is not valid for this list');
    });

    it('refuses a purchase cursor whose time is not a date', async () => {
      const cursor = cursorOf({ t: 8.64e15 + 1, i: '7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d' });
      expectUniform(await call('GET', `/purchases?cursor=${cursor}`, undefined, user), 400);
    });
  });

  describe('date-times: RFC 3339 with an explicit offset only', () => {
    const create = (startsAt: unknown, salesOpenAt?: unknown) =>
      call('POST', `/events/${eventId}/performances`, { startsAt, salesOpenAt, sections: LAYOUT }, admin);

    it.each([
      ['no offset', '2027-03-01T19:00:00'],
      ['a week date', '2027-W09-1T19:00:00Z'],
      ['an ordinal date', '2027-060T19:00:00Z'],
      ['a comma fraction', '2027-03-01T19:00:00,5Z'],
      ['a day that does not exist', '2027-02-30T19:00:00Z'],
      ['a year PostgreSQL cannot hold', '+275760-09-13T00:00:00Z'],
      ['a date only', '2027-03-01'],
    ])('refuses %s, naming the field', async (_name, value) => {
      const body = expectUniform(await create(value), 400);
      expect(body.message).toEqual([expect.stringMatching(/^startsAt must be an RFC 3339 date-time/)]);
      const late = expectUniform(await create('2027-03-01T19:00:00Z', value), 400);
      expect(late.message).toEqual([expect.stringMatching(/^salesOpenAt must be an RFC 3339 date-time/)]);
    });

    it.each([
      ['the last instant of year 9999 (year 10000 on a +14:00 venue clock)', '9999-12-31T23:59:59Z'],
      ['the first instant of year 0001 (year 0000 on a -12:00 venue clock)', '0001-01-01T00:00:00Z'],
      ['after the schedule window', '2200-01-01T00:00:00Z'],
      ['before the schedule window', '1999-12-31T23:59:59.999Z'],
    ])('refuses %s, naming the window', async (_name, value) => {
      const body = expectUniform(await create(value), 400);
      expect(body.message).toEqual(['startsAt must be between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59Z']);
      const late = expectUniform(await create('2027-03-01T19:00:00Z', value), 400);
      expect(late.message).toEqual(['salesOpenAt must be between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59Z']);
      const close = expectUniform(
        await call(
          'POST',
          `/events/${eventId}/performances`,
          { startsAt: '2027-03-01T19:00:00Z', salesCloseAt: value, sections: LAYOUT },
          admin,
        ),
        400,
      );
      expect(close.message).toEqual(['salesCloseAt must be between 2000-01-01T00:00:00Z and 2199-12-31T23:59:59Z']);
    });

    it('takes the edges of the schedule window, shown on a venue clock at +14:00 with a four-digit year', async () => {
      const far = await call(
        'POST',
        '/events',
        { title: 'Dawn', venue: 'Kiritimati', timeZone: 'Pacific/Kiritimati' },
        admin,
      );
      expect(far.statusCode).toBe(201);
      const late = await call(
        'POST',
        `/events/${far.json().id}/performances`,
        { startsAt: '2199-12-31T23:59:59.999Z', salesOpenAt: '2000-01-01T00:00:00Z', sections: LAYOUT },
        admin,
      );
      expect(late.statusCode).toBe(201);
      expect(late.json()).toMatchObject({
        startsAtLocal: '2200-01-01T13:59:59.999+14:00',
        salesOpenAt: '2000-01-01T00:00:00.000Z',
      });
    });

    it('reads the offset', async () => {
      const res = await create('2027-03-01T19:00:00+09:00', '2027-02-01T00:00:00.5Z');
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        startsAt: '2027-03-01T10:00:00.000Z',
        salesOpenAt: '2027-02-01T00:00:00.500Z',
      });
    });
  });

  describe('null and unknown properties', () => {
    it.each([
      ['PATCH title', 'PATCH', () => `/events/${eventId}`, { title: null }, 'title'],
      ['PATCH venue', 'PATCH', () => `/events/${eventId}`, { venue: null }, 'venue'],
      ['POST description', 'POST', () => '/events', { title: 't', venue: 'v', description: null }, 'description'],
      [
        'salesOpenAt',
        'POST',
        () => `/events/${eventId}/performances`,
        { startsAt: '2027-03-01T19:00:00Z', salesOpenAt: null, sections: LAYOUT },
        'salesOpenAt',
      ],
    ])('refuses null for an optional field (%s)', async (_name, method, url, payload, field) => {
      const body = expectUniform(await call(method, url(), payload, admin), 400);
      expect(body.message).toEqual([expect.stringMatching(new RegExp(`^${field} must not be null`))]);
    });

    it.each(['constructor', 'hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf', '__defineGetter__'])(
      'refuses an unknown property named %s',
      async (name) => {
        const body = expectUniform(
          await call('POST', '/auth/login', `{"email":"a@b.io","password":"pw","${name}":1}`),
          400,
        );
        expect(body.message).toEqual([`property ${name} should not exist`]);
        const nestedBody = { startsAt: '2027-03-01T19:00:00Z', sections: [{ ...LAYOUT[0], [name]: 1 }] };
        expectUniform(await call('POST', `/events/${eventId}/performances`, nestedBody, admin), 400);
      },
    );

    it('refuses __proto__', async () => {
      expectUniform(await call('POST', '/auth/login', '{"email":"a@b.io","password":"pw","__proto__":{"x":1}}'), 400);
    });
  });

  describe('validly signed tokens with malformed claims', () => {
    const sign = (claims: object, options: object = {}) =>
      new JwtService().sign(claims, { secret: api.app.get(Env).JWT_ACCESS_SECRET, ...options });

    it.each([
      ['no exp', () => sign({ sub: user.id, email: user.email, role: 'USER', typ: 'access' })],
      [
        'a sub that is not a uuid',
        () => sign({ sub: 'x', email: user.email, role: 'USER', typ: 'access' }, { expiresIn: 60 }),
      ],
    ])('answers 401 for %s', async (_name, token) => {
      const res = await call('GET', '/users/me', undefined, undefined, { authorization: `Bearer ${token()}` });
      expectUniform(res, 401);
    });
  });

  describe('errors raised by Fastify itself (real HTTP)', () => {
    const get = (target: string, extra = '') =>
      rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`).then(parseRaw);

    it.each([
      ['headers too large', () => get('/api/v1/events', `X-Big: ${'a'.repeat(20_000)}\r\n`), 431],
      ['a URL too long', () => get(`/api/v1/events?x=${'a'.repeat(70_000)}`), 431],
      ['a path parameter too long', () => get(`/api/v1/events/${'1'.repeat(300)}`), 414],
      ['a URL that does not decode', () => get('/api/v1/events/%E0%A4%A'), 400],
      ['malformed HTTP', () => rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n').then(parseRaw), 400],
      [
        'an HTTP/1.1 request without Host',
        () => rawRequest(port, 'GET /api/v1/events HTTP/1.1\r\nConnection: close\r\n\r\n').then(parseRaw),
        400,
      ],
    ])('answers %s with the uniform body', async (_name, send, status) => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.headers).toContain('content-type: application/json');
      expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
      expect(res.body.statusCode).toBe(status);
      expect(JSON.stringify(res.body)).not.toMatch(/FST_/);
    });

    it('answers an Expect other than 100-continue with 417 and the uniform body, changing nothing, on every method (property)', async () => {
      const body = JSON.stringify({ title: 'Expected', venue: 'V' });
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('POST', 'PATCH', 'GET', 'DELETE'),
          fc.oneof(
            fc.constantFrom('200-ok', '100-continued', '101-switching', 'continue', ''),
            fc.stringMatching(/^[A-Za-z0-9=;-]{1,30}$/).filter((value) => !CONTINUE.test(value)),
          ),
          async (method, expectation) => {
            const before = await eventsTitled('Expected');
            const res = parseRaw(
              await rawRequest(
                port,
                `${method} /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${admin.headers.authorization}\r\n` +
                  `Content-Type: application/json\r\nExpect: ${expectation}\r\nContent-Length: ${body.length}\r\n` +
                  `Connection: close\r\n\r\n${body}`,
              ),
            );
            expect(res.status).toBe(417);
            expect(res.headers).toContain('content-type: application/json');
            expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
            expect(res.body).toMatchObject({ statusCode: 417, message: EXPECTATION_REFUSED, path: '/api/v1/events' });
            expect(res.headers).toContain(`x-request-id: ${String(res.body.requestId)}`);
            expect(await eventsTitled('Expected')).toBe(before);
          },
        ),
        { numRuns: 25 },
      );
      // 100-continue, in any letter case, is a request as any other.
      const res = await rawRequest(
        port,
        `POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${admin.headers.authorization}\r\n` +
          `Content-Type: application/json\r\nExpect: 100-Continue\r\nContent-Length: ${body.length}\r\n` +
          `Connection: close\r\n\r\n${body}`,
        { halfClose: false },
      );
      expect(res).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
    });

    it.each([
      ['an authority', 'evil.example:443'],
      ['a path', '/api/v1/events'],
    ])(
      'answers CONNECT to %s with 400 and the uniform body (Node alone closes without an answer)',
      async (_n, target) => {
        const res = parseRaw(await rawRequest(port, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
        expect(res.status).toBe(400);
        expect(res.headers).toContain('content-type: application/json');
        expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
        expect(res.body).toMatchObject({
          statusCode: 400,
          message: CONNECT_REFUSED,
          path: target.startsWith('/') ? target : '',
        });
      },
    );

    it('answers 400, changing nothing, to any header that may be sent once sent twice (property)', async () => {
      const body = JSON.stringify({ title: 'Twice', venue: 'V' });
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('Idempotency-Key', 'Authorization', 'Content-Type', 'Host'),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
          fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
          fc.boolean(),
          async (header, upper, value, same) => {
            const name = (spelling: number) =>
              [...header]
                .map((c, i) => (upper[(i + spelling) % upper.length] ? c.toUpperCase() : c.toLowerCase()))
                .join('');
            const valueOf = (n: number) =>
              header === 'Authorization'
                ? admin.headers.authorization
                : header === 'Content-Type'
                  ? 'application/json'
                  : same
                    ? value
                    : `${value}-${n}`;
            const once = header === 'Authorization' ? '' : `Authorization: ${admin.headers.authorization}\r\n`;
            const json = header === 'Content-Type' ? '' : 'Content-Type: application/json\r\n';
            const before = await eventsTitled('Twice');
            const res = parseRaw(
              await rawRequest(
                port,
                `POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n${once}${json}` +
                  `${name(0)}: ${valueOf(1)}\r\n${name(1)}: ${valueOf(2)}\r\n` +
                  `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
              ),
            );
            expect(res.status).toBe(400);
            expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
            expect(res.body.message).toBe(`the ${header.toLowerCase()} header must be sent once`);
            expect(await eventsTitled('Twice')).toBe(before);
          },
        ),
        { numRuns: 30 },
      );
    });

    it('answers 400 to a request target with a fragment, which the router would read as a query', async () => {
      for (const target of ['/api/v1/events#frag', '/api/v1/events?limit=5#x', '/health/live#']) {
        const res = parseRaw(
          await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
        );
        expect(res.status, target).toBe(400);
        expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
        expect(res.body.message).toBe(FRAGMENT_REFUSED);
      }
      // An encoded "#" is data: a search for it answers 200.
      expect((await api.app.inject({ method: 'GET', url: '/api/v1/events?q=%23frag' })).statusCode).toBe(200);
    });

    it('answers 400 to a purchase with two Idempotency-Key headers (Node would join them into "a, b")', async () => {
      const body = JSON.stringify({ reservationId: '00000000-0000-4000-8000-000000000000' });
      const res = parseRaw(
        await rawRequest(
          port,
          `POST /api/v1/purchases HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${user.headers.authorization}\r\n` +
            `Content-Type: application/json\r\nIdempotency-Key: a\r\nIdempotency-Key: b\r\n` +
            `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('the idempotency-key header must be sent once');
    });

    it('names the missing Host and gives the request id', async () => {
      const res = parseRaw(await rawRequest(port, 'GET /api/v1/events HTTP/1.1\r\nConnection: close\r\n\r\n'));
      expect(res.body.message).toBe('the Host header is missing (HTTP/1.1 requires it)');
      expect(res.headers).toContain(`x-request-id: ${String(res.body.requestId).toLowerCase()}`);
    });
  });
});
