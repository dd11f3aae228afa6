import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { ERROR_KEYS } from './support/http';
import { startTestApi } from './support/api';

// A pool of three connections and a short acquire timeout make a burst exhaust the pool at once:
// a request that held one connection while waiting for another would deadlock it (500s for all).
describe('a burst larger than the PostgreSQL pool (real PostgreSQL)', () => {
  let api: ApiHarness;
  let buyers: TestSession[];
  let bystander: TestSession;

  beforeAll(async () => {
    api = await startTestApi({
      DATABASE_POOL_SIZE: '3',
      DATABASE_ACQUIRE_TIMEOUT_MS: '300',
    });
    buyers = [];
    for (let i = 0; i < 60; i++) buyers.push(await createSession(api.app));
    bystander = await createSession(api.app);
  }, 120_000);
  afterAll(async () => api?.close());

  it('answers every refresh 200 or 503 with Retry-After, never 500, and other users are served after', async () => {
    const burst = await Promise.all([
      ...buyers.map((buyer) =>
        api.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: buyer.refreshToken } }),
      ),
      ...buyers.map(() => api.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bystander.headers })),
    ]);
    const statuses = burst.map((res) => res.statusCode);
    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    // How many refreshes of the burst get a connection in time depends on the machine's load; what
    // must hold is that a refused one changed nothing: its token still works, one at a time, so
    // every buyer ends with a rotated token and the pool did not deadlock.
    const refused = buyers.filter((_, index) => statuses[index] === 503);
    for (const buyer of refused) {
      const again = await api.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refreshToken: buyer.refreshToken },
      });
      expect(again.statusCode, again.body).toBe(200);
    }
    for (const res of burst.filter((r) => r.statusCode === 503)) {
      expect(res.headers['retry-after']).toBe('1');
      expect(Object.keys(res.json()).sort()).toEqual(ERROR_KEYS);
      expect(res.json().message).toBe('The service is busy; retry shortly');
    }
    const after = await api.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bystander.headers });
    expect(after.statusCode).toBe(200);
  });
});
