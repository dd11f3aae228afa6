import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness } from '@app/testing';
import { startTestApi } from './support/api';

/** Five wrong passwords for one e-mail from one client; the sixth try is what the test looks at. */
async function sixthLogin(api: ApiHarness, email: string, from: (attempt: number) => Record<string, string>) {
  const tries: number[] = [];
  for (let attempt = 0; attempt < 6; attempt++) {
    const { remoteAddress, ...headers } = from(attempt);
    const res = await api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: 'wrong-password-1' },
      headers,
      remoteAddress,
    });
    tries.push(res.statusCode);
  }
  return tries;
}

describe('the client address behind TRUST_PROXY (login rate limit, real Redis)', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startTestApi({
      TRUST_PROXY: 'loopback',
    });
  });
  afterAll(async () => api?.close());

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy: rotating it does not dodge the limit', async () => {
    const tries = await sixthLogin(api, 'direct@example.test', (attempt) => ({
      remoteAddress: '203.0.113.9',
      'x-forwarded-for': `198.51.100.${attempt + 1}`,
    }));
    expect(tries).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('believes X-Forwarded-For from a trusted proxy: each forwarded client is counted on its own', async () => {
    const tries = await sixthLogin(api, 'proxied@example.test', (attempt) => ({
      remoteAddress: '127.0.0.1',
      'x-forwarded-for': `198.51.100.${attempt + 1}`,
    }));
    expect(tries).toEqual([401, 401, 401, 401, 401, 401]);
  });

  it('counts an IPv6 client by its /64: rotating the host part (as any IPv6 host may) does not dodge the limit (accounts trial A1)', async () => {
    const hosts = [
      '2001:db8:7:8::1',
      '2001:db8:7:8::2',
      '2001:db8:7:8:0:0:0:3',
      '2001:DB8:7:8:ffff::4',
      '2001:db8:7:8:1:2:3:4',
      '2001:db8:0007:0008::6',
    ];
    const tries = await sixthLogin(api, 'v6@example.test', (attempt) => ({
      remoteAddress: '127.0.0.1',
      'x-forwarded-for': hosts[attempt],
    }));
    expect(tries).toEqual([401, 401, 401, 401, 401, 429]);
    // Another /64 is another client.
    const other = await sixthLogin(api, 'v6@example.test', () => ({
      remoteAddress: '127.0.0.1',
      'x-forwarded-for': '2001:db8:7:9::1',
    }));
    expect(other).toEqual([401, 401, 401, 401, 401, 429]);
  });
});

describe('signup throttling per client address (SIGNUP_RATE_LIMIT, real Redis)', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startTestApi({
      SIGNUP_RATE_LIMIT: '3',
    });
  });
  afterAll(async () => api?.close());

  const signup = (n: number, remoteAddress: string, forwardedFor?: string) =>
    api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: { email: `throwaway-${remoteAddress}-${n}@example.test`, password: 'long-enough-pw', name: 'T' },
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
      remoteAddress,
    });

  it('allows SIGNUP_RATE_LIMIT signups a minute from one address, then 429 with Retry-After; other addresses go on', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < 4; n++) statuses.push((await signup(n, '203.0.113.20', `198.51.100.${n}`)).statusCode);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const refused = await signup(9, '203.0.113.20');
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json().message).toBe('too many signups from this address, try again later');
    expect((await signup(0, '203.0.113.21')).statusCode).toBe(201);
  });

  it('counts IPv6 signups per /64, not per address (accounts trial A1)', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < 4; n++) statuses.push((await signup(n, '127.0.0.1', `2001:db8:5:6::${n + 1}`)).statusCode);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const neighbour = await api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: { email: 'throwaway-v6-next-net@example.test', password: 'long-enough-pw', name: 'T' },
      headers: { 'x-forwarded-for': '2001:db8:5:7::1' },
      remoteAddress: '127.0.0.1',
    });
    expect(neighbour.statusCode).toBe(201);
  });

  it('does not count logins against signups, nor signups against logins', async () => {
    const login = await api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'throwaway-203.0.113.20-0@example.test', password: 'long-enough-pw' },
      remoteAddress: '203.0.113.20',
    });
    expect(login.statusCode).toBe(200);
  });
});
