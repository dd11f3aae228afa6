import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, createSession, TEST_PASSWORD } from '@app/testing';
import { caller } from './purchase-helpers';
import { startTestApi } from './support/api';
import { expectUniform } from './support/http';

const NEW_PASSWORD = 'a changed password 77';

/**
 * Changing the password while signed in (accounts trial A4), on real PostgreSQL and Redis: the
 * current password is asked for, every session of the account ends, and the answer is the one
 * session left.
 */
describe('POST /auth/password (change while signed in)', () => {
  let api: ApiHarness;
  let call: ReturnType<typeof caller>;
  let db: DataSource;
  let addresses = 0;
  const nextAddress = () => `10.78.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

  beforeAll(async () => {
    api = await startTestApi();
    call = caller(api.app);
    db = api.app.get(DataSource);
  });
  afterAll(async () => api?.close());

  const change = (accessToken: string | undefined, body: object, address = nextAddress()) =>
    call('POST', '/auth/password', {
      body,
      headers: { 'x-forwarded-for': address, ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) },
    });
  const login = (email: string, password: string) =>
    call('POST', '/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': nextAddress() } });
  const me = (accessToken: string) => call('GET', '/users/me', { headers: { authorization: `Bearer ${accessToken}` } });

  it('sets the new password, ends every session of the account and answers a new one', async () => {
    const user = await createSession(api.app);
    const other = (await login(user.email, TEST_PASSWORD)).json();
    const res = await change(user.accessToken, { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(200);
    const pair = res.json();
    expect(pair).toMatchObject({ tokenType: 'Bearer', expiresIn: 600, refreshExpiresIn: 2592000 });
    expect((await me(pair.accessToken)).statusCode).toBe(200);
    // Every earlier session has ended, the caller's own included: its tokens are refused.
    expect((await me(user.accessToken)).statusCode).toBe(401);
    expect((await me(other.accessToken)).statusCode).toBe(401);
    expect((await call('POST', '/auth/refresh', { body: { refreshToken: other.refreshToken } })).statusCode).toBe(401);
    expect((await call('POST', '/auth/refresh', { body: { refreshToken: pair.refreshToken } })).statusCode).toBe(200);
    expect((await login(user.email, TEST_PASSWORD)).statusCode).toBe(401);
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
    const events = await db.query(`SELECT type FROM auth_events WHERE user_id = $1 AND type = 'PASSWORD_CHANGED'`, [
      user.id,
    ]);
    expect(events).toHaveLength(1);
  });

  it('refuses a wrong current password (401), a guessable new one (400) and no session (401), changing nothing', async () => {
    const user = await createSession(api.app, { name: 'Grace Hopper' });
    const wrong = await change(user.accessToken, { currentPassword: 'not the password 1', newPassword: NEW_PASSWORD });
    expectUniform(wrong, 401);
    expect(wrong.json().message).toBe("the password is not this account's");
    for (const [newPassword, reason] of [
      ['Password1!', 'password must not be a commonly used password, such as "password1" or "qwerty123"'],
      [user.email, 'password must not be your e-mail address or your name'],
      ['Grace Hopper', 'password must not be your e-mail address or your name'],
    ]) {
      const weak = await change(user.accessToken, { currentPassword: TEST_PASSWORD, newPassword });
      expectUniform(weak, 400);
      expect([weak.json().message].flat()).toEqual([reason]);
    }
    expectUniform(await change(user.accessToken, { currentPassword: TEST_PASSWORD }), 400);
    expectUniform(await change(undefined, { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }), 401);
    expect((await me(user.accessToken)).statusCode).toBe(200);
    expect((await login(user.email, TEST_PASSWORD)).statusCode).toBe(200);
  });

  it('counts wrong current passwords on the login limit of the address and account (429 with Retry-After)', async () => {
    const user = await createSession(api.app);
    const address = '10.79.0.1';
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await change(user.accessToken, { currentPassword: `wrong guess ${i}x`, newPassword: NEW_PASSWORD }, address))
          .statusCode,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const refused = await change(
      user.accessToken,
      { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD },
      address,
    );
    expectUniform(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('of two changes at once with the same current password, one wins and the other is refused (401)', async () => {
    const user = await createSession(api.app);
    const [a, b] = await Promise.all([
      change(user.accessToken, { currentPassword: TEST_PASSWORD, newPassword: 'first new password 1' }),
      change(user.accessToken, { currentPassword: TEST_PASSWORD, newPassword: 'second new password 2' }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 401]);
    const winner = a.statusCode === 200 ? 'first new password 1' : 'second new password 2';
    const loser = a.statusCode === 200 ? 'second new password 2' : 'first new password 1';
    expect((await login(user.email, winner)).statusCode).toBe(200);
    expect((await login(user.email, loser)).statusCode).toBe(401);
  });
});
