import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { startTestApi } from './support/api';

describe('security headers and the docs switch (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let user: TestSession;

  beforeAll(async () => {
    api = await startTestApi({
      DOCS_ENABLED: 'false',
    });
    user = await createSession(api.app);
  });
  afterAll(async () => api?.close());

  it('marks every response nosniff and unframeable, and keeps tokens and personal data out of caches', async () => {
    const catalog = await api.app.inject({ method: 'GET', url: '/api/v1/events' });
    const me = await api.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: user.headers });
    const login = await api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: 'wrong-password' },
    });
    const missing = await api.app.inject({ method: 'GET', url: '/no/such/route' });
    for (const res of [catalog, me, login, missing]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    }
    expect([me.statusCode, login.statusCode]).toEqual([200, 401]);
    expect(me.headers['cache-control']).toBe('no-store');
    expect(login.headers['cache-control']).toBe('no-store');
    expect(catalog.headers['cache-control']).toBeUndefined();
  });

  it('serves no Swagger UI and no OpenAPI document with DOCS_ENABLED=false', async () => {
    for (const url of ['/docs', '/docs-json', '/docs-yaml']) {
      const res = await api.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ statusCode: 404, path: url });
    }
  });
});
