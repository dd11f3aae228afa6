import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminAccountsService, ENDED_SESSIONS_KEY, Role, SessionRevocations } from '@app/auth';
import { ApiHarness, createSession, TEST_PASSWORD, type TestSession, waitUntil } from '@app/testing';
import { caller } from './purchase-helpers';
import { startTestApi } from './support/api';
import { createStaffSession, startSecondApi } from './support/door';
import { expectUniform } from './support/http';

const NEW_PASSWORD = 'the owner takes it back 42';
const SESSION_ENDED = /session has ended/;

/**
 * Ending every session of an account at once, on real PostgreSQL and Redis and two api instances:
 * an access token minted before a password reset, a role change or an admin's new password is
 * refused (401) by the api that made the change at once and by the other within moments, although
 * both had verified (and cached) it; tokens minted after the change work at once on both; an
 * announcement one api missed is read again when its listener reconnects, and an api that starts
 * later knows of the endings too.
 */
describe('sessions ended at once on every api (password reset, role changes)', () => {
  let api: ApiHarness;
  /** A second api on the same database and Redis. */
  let other: NestFastifyApplication;
  let db: DataSource;
  let admin: TestSession;
  let addresses = 0;
  const nextAddress = () => `10.91.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

  beforeAll(async () => {
    api = await startTestApi();
    other = await startSecondApi(api);
    db = api.app.get(DataSource);
    admin = await createSession(api.app, { role: Role.Admin });
  });
  afterAll(async () => {
    await other?.close();
    await api?.close();
  });

  const me = (app: NestFastifyApplication, session: TestSession) => caller(app)('GET', '/users/me', { session });
  const apps = () => [api.app, other];

  /** A live reset token of `user`, stored as a request would store it. */
  async function resetTokenOf(user: TestSession): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await db.query(
      `INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + interval '10 minutes')`,
      [randomUUID(), user.id, createHash('sha256').update(token).digest('hex')],
    );
    return token;
  }

  async function resetPassword(user: TestSession, app: NestFastifyApplication = api.app): Promise<void> {
    const done = await caller(app)('POST', '/auth/password-reset/confirm', {
      body: { token: await resetTokenOf(user), password: NEW_PASSWORD },
    });
    expect(done.statusCode, done.body).toBe(204);
  }

  /** Both apis answer `session`'s token (each then has it in its cache of verified tokens). */
  async function expectAccepted(session: TestSession): Promise<void> {
    for (const app of apps()) expect((await me(app, session)).statusCode).toBe(200);
  }

  /** `app` refuses `session`'s token with the uniform 401 saying the session ended. */
  async function expectEnded(app: NestFastifyApplication, session: TestSession): Promise<void> {
    const body = expectUniform(await me(app, session), 401);
    expect(body.message).toMatch(SESSION_ENDED);
  }

  /** The changing api refuses at once; the other within a second of the change's answer. */
  async function expectEndedEverywhere(session: TestSession, changedOn: NestFastifyApplication = api.app) {
    await expectEnded(changedOn, session);
    const elsewhere = changedOn === api.app ? other : api.app;
    await waitUntil(async () => (await me(elsewhere, session)).statusCode === 401, 'the other api refuses', 1000, 10);
    await expectEnded(elsewhere, session);
  }

  it('a password reset: the old access token is refused on both apis at once; a login right after works on both', async () => {
    const user = await createSession(api.app);
    await expectAccepted(user);

    await resetPassword(user);
    await expectEndedEverywhere(user);

    // Signed in again at once (the same second as the reset), on either api: its tokens work everywhere.
    const login = await caller(other)('POST', '/auth/login', {
      body: { email: user.email, password: NEW_PASSWORD },
      headers: { 'x-forwarded-for': nextAddress() },
    });
    expect(login.statusCode, login.body).toBe(200);
    const again = { ...user, headers: { authorization: `Bearer ${login.json().accessToken}` } };
    await expectAccepted(again);
    const refreshed = await caller(api.app)('POST', '/auth/refresh', {
      body: { refreshToken: login.json().refreshToken },
    });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    await expectAccepted({ ...user, headers: { authorization: `Bearer ${refreshed.json().accessToken}` } });
    // The old token stays refused.
    await expectEnded(api.app, user);
    await expectEnded(other, user);
  });

  it('a reset on the second api reaches the first as well; other accounts are not touched', async () => {
    const user = await createSession(api.app);
    const bystander = await createSession(api.app);
    await expectAccepted(user);
    await expectAccepted(bystander);

    await resetPassword(user, other);
    await expectEndedEverywhere(user, other);
    await expectAccepted(bystander);
  });

  /** The second api's revocations, with their private listener and timer (the cases below stop them). */
  const revocationsOf = (app: NestFastifyApplication) =>
    app.get(SessionRevocations) as unknown as {
      subscriber: Redis;
      channel: string;
      rereads: NodeJS.Timeout | null;
      reread(): Promise<void>;
    };

  it('an announcement missed while the listener was away is read from Redis when it reconnects', async () => {
    // On a Redis Cluster the listener is a Cluster client, whose disconnect and reconnect this case
    // does not drive (it never reported 'end'); the deaf listener's case below runs there too.
    if (api.env.REDIS_CLUSTER_NODES) return;
    const user = await createSession(api.app);
    await expectAccepted(user);
    const revocations = revocationsOf(other);
    // The timed read off, so that only the reconnection can tell the second api.
    clearInterval(revocations.rereads!);
    const listener = revocations.subscriber;
    listener.disconnect();
    await waitUntil(() => listener.status === 'end', 'the listener disconnected');

    await resetPassword(user);
    await expectEnded(api.app, user);
    // Missed: nothing told the second api.
    expect((await me(other, user)).statusCode).toBe(200);

    await listener.connect();
    await waitUntil(async () => (await me(other, user)).statusCode === 401, 'the reconnected api refuses');
    await expectEnded(other, user);
  });

  it('an api whose listener hears nothing, its connection up (cut off silently), learns of an ending by its timed read', async () => {
    expect(revocationsOf(api.app).rereads).not.toBeNull();
    const user = await createSession(api.app);
    await expectAccepted(user);
    const revocations = revocationsOf(other);
    // The timer off (run by hand below), so that nothing tells the second api before it is asked.
    clearInterval(revocations.rereads!);
    // Deaf without a reconnection: no message comes, and no 'ready' would read the set again.
    await revocations.subscriber.unsubscribe();
    try {
      await resetPassword(user);
      await expectEnded(api.app, user);
      expect((await me(other, user)).statusCode).toBe(200);
      // The timed read (every ENDED_SESSIONS_REREAD_MS) finds it.
      await revocations.reread();
      await expectEnded(other, user);
    } finally {
      await revocations.subscriber.subscribe(revocations.channel);
    }
  });

  it('an api that starts after the reset refuses the old token, from PostgreSQL should Redis have lost the set', async () => {
    const user = await createSession(api.app);
    await resetPassword(user);
    await api.app.get(Redis).del(ENDED_SESSIONS_KEY);
    const late = await startSecondApi(api);
    try {
      await expectEnded(late, user);
    } finally {
      await late.close();
    }
  });

  it("an admin making a buyer door staff, then revoking it: each time the account's access tokens end everywhere", async () => {
    const buyer = await createSession(api.app);
    await expectAccepted(buyer);
    const granted = await caller(api.app)('PUT', `/admin/staff/${buyer.id}`, { session: admin });
    expect(granted.statusCode, granted.body).toBe(200);
    await expectEndedEverywhere(buyer);

    const staff = await createStaffSession(api.app, admin, `door-${randomUUID()}@example.test`);
    await expectAccepted(staff);
    const revoked = await caller(other)('DELETE', `/admin/staff/${staff.id}`, { session: admin });
    expect(revoked.statusCode, revoked.body).toBe(204);
    await expectEndedEverywhere(staff, other);
  });

  it("an admin's password set at start (ADMIN_PASSWORD) ends its sessions everywhere; the same password again does not", async () => {
    const operator = await createSession(api.app, { role: Role.Admin });
    await expectAccepted(operator);
    const admins = api.app.get(AdminAccountsService);
    await admins.ensureAdmin({ email: operator.email, password: TEST_PASSWORD });
    await expectAccepted(operator);

    await admins.ensureAdmin({ email: operator.email, password: NEW_PASSWORD });
    await expectEndedEverywhere(operator);
  });
});
