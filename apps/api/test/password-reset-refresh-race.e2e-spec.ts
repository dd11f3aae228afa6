import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RefreshTokensRepository, UsersRepository } from '@app/database';
import { PasswordHasher } from '@app/auth';
import { ApiHarness, createSession, TEST_PASSWORD, type TestSession, waitUntil } from '@app/testing';
import { startTestApi } from './support/api';

const NEW_PASSWORD = 'the victim new password 42';

/**
 * A refresh (or a login with the old password) racing POST /auth/password-reset/confirm, on real
 * PostgreSQL: once the confirm answered 204 no refresh token of the account works, neither the one
 * it had nor one a racing refresh or login minted.
 */
describe('password reset racing a refresh', () => {
  let api: ApiHarness;
  let db: DataSource;
  beforeAll(async () => {
    api = await startTestApi();
    db = api.app.get(DataSource);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => api?.close());

  /** A live reset token of `user`, stored as a request would store it. */
  async function resetTokenOf(user: TestSession): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await db.query(
      `INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + interval '10 minutes')`,
      [randomUUID(), user.id, createHash('sha256').update(token).digest('hex')],
    );
    return token;
  }

  /** A gate a spied method waits at: `reached` once it got there, `release()` lets it go on. */
  function gate() {
    let release!: () => void;
    let arrived!: () => void;
    const open = new Promise<void>((resolve) => (release = resolve));
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    return { open, reached, release, arrive: () => arrived() };
  }

  /** Until some statement of this database waits on a lock (the other side of the race is blocked). */
  const someoneWaitsOnALock = () =>
    waitUntil(async () => {
      const [row] = await db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return row.n > 0;
    }, 'a statement waiting on a lock');

  const refresh = (refreshToken: string) =>
    api.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });
  const confirm = (token: string) =>
    api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-reset/confirm',
      payload: { token, password: NEW_PASSWORD },
    });

  it('a refresh that minted its token before the confirm locked the account: the reset revokes that token too', async () => {
    const user = await createSession(api.app);
    const token = await resetTokenOf(user);
    // Hold the refresh's transaction open after it minted and rotated (before its commit).
    const refreshes = api.app.get(RefreshTokensRepository);
    const markRotated = refreshes.markRotated.bind(refreshes);
    const paused = gate();
    vi.spyOn(refreshes, 'markRotated').mockImplementation(async (...args) => {
      await markRotated(...args);
      paused.arrive();
      await paused.open;
    });

    const refreshing = refresh(user.refreshToken);
    await paused.reached;
    const confirming = confirm(token);
    await someoneWaitsOnALock(); // the confirm waits for the refresh's hold on the account
    paused.release();
    const [refreshed, confirmed] = await Promise.all([refreshing, confirming]);
    expect(confirmed.statusCode, confirmed.body).toBe(204);
    expect(refreshed.statusCode, refreshed.body).toBe(200);

    expect((await refresh(refreshed.json().refreshToken)).statusCode).toBe(401);
    expect((await refresh(user.refreshToken)).statusCode).toBe(401);
  });

  it('a refresh arriving while the confirm holds the account waits for it, then answers 401', async () => {
    const user = await createSession(api.app);
    const token = await resetTokenOf(user);
    // Hold the confirm's transaction open after it set the password (before it revokes the sessions).
    const users = api.app.get(UsersRepository);
    const setPasswordHash = users.setPasswordHash.bind(users);
    const paused = gate();
    vi.spyOn(users, 'setPasswordHash').mockImplementation(async (...args) => {
      await setPasswordHash(...args);
      paused.arrive();
      await paused.open;
    });

    const confirming = confirm(token);
    await paused.reached;
    const refreshing = refresh(user.refreshToken);
    await someoneWaitsOnALock(); // the refresh waits for the confirm's update of the account
    paused.release();
    const [refreshed, confirmed] = await Promise.all([refreshing, confirming]);
    expect(confirmed.statusCode, confirmed.body).toBe(204);
    expect(refreshed.statusCode, refreshed.body).toBe(401);
    expect((await refresh(user.refreshToken)).statusCode).toBe(401);
  });

  it('a login with the old password that verified before the reset committed answers 401, minting nothing', async () => {
    const user = await createSession(api.app);
    const token = await resetTokenOf(user);
    // Hold the login after its argon2 verify passed (the old password), until the reset committed.
    const hasher = api.app.get(PasswordHasher);
    const verify = hasher.verify.bind(hasher);
    const paused = gate();
    vi.spyOn(hasher, 'verify').mockImplementation(async (...args) => {
      const matches = await verify(...args);
      paused.arrive();
      await paused.open;
      return matches;
    });
    const loggingIn = api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: TEST_PASSWORD },
      headers: { 'x-forwarded-for': '10.79.0.1' },
    });
    await paused.reached;
    expect((await confirm(token)).statusCode).toBe(204);
    paused.release();
    const login = await loggingIn;
    expect(login.statusCode, login.body).toBe(401);
    const [{ n }] = await db.query(
      'SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL',
      [user.id],
    );
    expect(n).toBe(0);
  });
});
