import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, createSession, freePort, TestSession } from '@app/testing';
import { startTestApi } from './support/api';
import { expectUniform } from './support/http';

/**
 * CORS (`CORS_ORIGINS`): a browser page of a configured origin may call the API (preflight and
 * answers carry the CORS headers); any other origin gets none, and neither does anyone when the
 * setting is empty (the default).
 */
describe('CORS for configured web origins', () => {
  const shop = 'https://shop.example.com';

  describe('with CORS_ORIGINS set', () => {
    let api: ApiHarness;
    let user: TestSession;

    beforeAll(async () => {
      api = await startTestApi({ CORS_ORIGINS: `${shop},http://localhost:5173` });
      user = await createSession(api.app);
    });
    afterAll(async () => api?.close());

    it("answers a configured origin's preflight for a hold with the methods and headers it may send", async () => {
      const res = await api.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/reservations',
        headers: {
          origin: shop,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, idempotency-key',
        },
      });
      expect(res.statusCode).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(shop);
      expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
      expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('idempotency-key');
      expect(res.headers['access-control-max-age']).toBe('600');
    });

    it('answers preflights of routes with path parameters and of every request header the API reads', async () => {
      for (const [method, url, headers] of [
        ['DELETE', '/api/v1/reservations/b0f10000-0001-8000-8000-000000000001', 'authorization'],
        ['PATCH', '/api/v1/performances/1', 'authorization, content-type'],
        ['PUT', '/api/v1/admin/staff/b0f10000-0001-8000-8000-000000000001', 'authorization'],
        ['POST', '/api/v1/reservations', 'authorization, content-type, admission-token, x-request-id'],
        ['GET', '/api/v1/performances/1/map', 'if-none-match'],
      ]) {
        const res = await api.app.inject({
          method: 'OPTIONS',
          url,
          headers: { origin: shop, 'access-control-request-method': method, 'access-control-request-headers': headers },
        });
        expect(res.statusCode, `${method} ${url}`).toBe(204);
        expect(res.headers['access-control-allow-origin'], `${method} ${url}`).toBe(shop);
        expect(String(res.headers['access-control-allow-methods'])).toContain(method);
        const allowed = String(res.headers['access-control-allow-headers']).toLowerCase();
        for (const header of headers.split(', ')) expect(allowed, header).toContain(header);
      }
    });

    it('marks refusals readable too (a 401 of a hold without a token)', async () => {
      const res = await api.app.inject({
        method: 'POST',
        url: '/api/v1/reservations',
        headers: { origin: shop, 'content-type': 'application/json' },
        payload: { performanceId: 1, seatIds: [1] },
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers['access-control-allow-origin']).toBe(shop);
      expect(String(res.headers['access-control-expose-headers'])).toContain('Retry-After');
    });

    it('marks answers to a configured origin readable, with Retry-After exposed; other origins get no CORS header', async () => {
      const mine = await api.app.inject({
        method: 'GET',
        url: '/api/v1/reservations',
        headers: { ...user.headers, origin: shop },
      });
      expect(mine.statusCode).toBe(200);
      expect(mine.headers['access-control-allow-origin']).toBe(shop);
      expect(String(mine.headers['access-control-expose-headers'])).toContain('Retry-After');
      // A 201's Location (the created hold, purchase…) is readable by the page that created it.
      expect(String(mine.headers['access-control-expose-headers'])).toContain('Location');
      const other = await api.app.inject({
        method: 'GET',
        url: '/api/v1/reservations',
        headers: { ...user.headers, origin: 'https://evil.example.com' },
      });
      expect(other.statusCode).toBe(200);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('answers an OPTIONS that is no preflight of a configured origin as without CORS_ORIGINS: 404 with the uniform body', async () => {
      const plain = await startTestApi();
      try {
        for (const [url, headers, readable] of [
          ['/api/v1/events', {}, false],
          ['/api/v1/events', { origin: shop }, true],
          ['/api/v1/reservations', { 'access-control-request-method': 'POST' }, false],
          ['/api/v1/events', { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' }, false],
          ['/health/live', { origin: shop }, true],
          ['/nowhere', {}, false],
        ] as const) {
          const what = `OPTIONS ${url} ${JSON.stringify(headers)}`;
          const res = await api.app.inject({ method: 'OPTIONS', url, headers });
          const body = expectUniform(res, 404);
          expect(String(res.headers['content-type']), what).toMatch(/^application\/json/);
          expect(res.headers['access-control-allow-origin'], what).toBe(readable ? shop : undefined);
          if (readable) expect(String(res.headers['access-control-expose-headers']), what).toContain('X-Request-Id');
          expect(res.headers['access-control-allow-methods'], what).toBeUndefined();
          // The same answer as an API without CORS_ORIGINS gives.
          const without = await plain.app.inject({ method: 'OPTIONS', url, headers });
          expect(without.statusCode, what).toBe(404);
          expect({ ...body, requestId: '', timestamp: '' }, what).toEqual({
            ...without.json(),
            requestId: '',
            timestamp: '',
          });
        }
      } finally {
        await plain.close();
      }
    });

    it('marks readable the answers given before any route: a URL that does not decode (400), headers too large (431)', async () => {
      for (const [origin, expected] of [
        [shop, shop],
        ['https://evil.example.com', undefined],
      ] as const) {
        const res = await api.app.inject({ method: 'GET', url: '/api/v1/performances/%C0', headers: { origin } });
        expect(res.statusCode).toBe(400);
        expect(res.headers['access-control-allow-origin'], origin).toBe(expected);
        if (expected) expect(String(res.headers['access-control-expose-headers'])).toContain('X-Request-Id');
      }
      // Node's HTTP parser refuses these before Fastify sees a request: read off a real socket.
      const port = await freePort();
      await api.app.listen({ port, host: '127.0.0.1' });
      for (const [origin, expected] of [
        [shop, true],
        ['https://evil.example.com', false],
      ] as const) {
        const answer = await new Promise<string>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () =>
            socket.write(
              `GET /api/v1/events HTTP/1.1\r\nHost: x\r\nOrigin: ${origin}\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
            ),
          );
          let text = '';
          socket.on('data', (chunk) => (text += chunk.toString('latin1')));
          socket.on('close', () => resolve(text));
          socket.on('error', (error: NodeJS.ErrnoException) =>
            error.code === 'ECONNRESET' ? resolve(text) : reject(error),
          );
        });
        expect(answer).toMatch(/^HTTP\/1\.1 431 /);
        expect(answer.toLowerCase().includes(`access-control-allow-origin: ${shop}\r\n`), origin).toBe(expected);
      }
    });
  });

  it('sends no CORS header by default', async () => {
    const api = await startTestApi();
    try {
      const res = await api.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/events',
        headers: { origin: shop, 'access-control-request-method': 'GET' },
      });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.statusCode).toBe(404);
    } finally {
      await api.close();
    }
  });
});
