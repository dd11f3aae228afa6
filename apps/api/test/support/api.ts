import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { expect } from 'vitest';
import { Role, TokenService } from '@app/auth';
import { EnvSource } from '@app/config';
import { UsersRepository } from '@app/database';
import { ApiHarness, createSession, startApi, TestSession } from '@app/testing';
import { ApiModule } from '../../src/api.module';
import { createApiApp } from '../../src/bootstrap';
import { caller } from '../purchase-helpers';

/** The API as `main.ts` builds it, on a fresh test database (`startApi`), with env `overrides`. */
export function startTestApi(overrides: EnvSource = {}): Promise<ApiHarness> {
  return startApi(({ overrides: env, logger }) => createApiApp(ApiModule, { overrides: env, logger }), overrides);
}

/** {@link startTestApi} with an admin and a user signed in. */
export async function startApiWithSessions(
  overrides: EnvSource = {},
): Promise<{ api: ApiHarness; admin: TestSession; user: TestSession }> {
  const api = await startTestApi(overrides);
  const admin = await createSession(api.app, { role: Role.Admin });
  const user = await createSession(api.app);
  return { api, admin, user };
}

/** `call(method, url, { body, session, headers })`: HTTP against the app under `/api/v1` (see `caller`). */
export type Caller = ReturnType<typeof caller>;

/** What most e2e files of the API work with: see {@link startAdminApi}. */
export interface AdminApi {
  api: ApiHarness;
  /** A connection of its own to the API's database, to arrange and read rows directly. */
  db: Client;
  /** The API's own Redis client (its key prefix), to read and arrange live seat state. */
  redis: Redis;
  /** An operator signed in (Role.Admin). */
  admin: TestSession;
  call: Caller;
  /** Ends `db`, then closes the API (see ApiHarness.close: it fails on undocumented answers). */
  close(): Promise<void>;
}

/**
 * {@link startTestApi} with env `overrides`, a PostgreSQL client of its database, its Redis client,
 * a caller and an admin session. In a `describe`, taking the fields it uses:
 *
 * ```ts
 * let { api, db, admin, call, close } = {} as AdminApi; // set before the first test
 * beforeAll(async () => ({ api, db, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' })));
 * afterAll(() => close?.());
 * ```
 */
export async function startAdminApi(overrides: EnvSource = {}): Promise<AdminApi> {
  const api = await startTestApi(overrides);
  const db = new Client({ connectionString: api.env.DATABASE_URL });
  try {
    await db.connect();
    const admin = await createSession(api.app, { role: Role.Admin });
    return {
      api,
      db,
      redis: api.app.get(Redis),
      admin,
      call: caller(api.app),
      close: async () => {
        await db.end();
        await api.close();
      },
    };
  } catch (error) {
    await db.end().catch(() => undefined);
    await api.close();
    throw error;
  }
}

/**
 * A fresh buyer: an account row written directly (a hold checks that it exists) and an access
 * token signed directly, so that a test may make hundreds without signing up or logging in.
 * Answers its id and its `{ authorization: 'Bearer …' }` headers.
 */
export async function signedBuyer(api: ApiHarness): Promise<{ userId: string; headers: { authorization: string } }> {
  const email = `${randomUUID()}@example.test`;
  const user = await api.app
    .get(UsersRepository)
    .insertIfEmailFree({ email, name: 'Buyer', role: Role.User, passwordHash: 'unused' });
  const token = await api.app.get(TokenService).signAccess({ id: user!.id, email, role: Role.User });
  return { userId: user!.id, headers: { authorization: `Bearer ${token}` } };
}

/**
 * Puts performance `performanceId` behind a waiting room open since a minute ago, admitting 100 a
 * second and 100 at once (`PUT /performances/:id/queue` as `admin`); expects its 200.
 */
export async function openWaitingRoom(call: Caller, admin: TestSession, performanceId: number): Promise<void> {
  const body = {
    opensAt: new Date(Date.now() - 60_000).toISOString(),
    admitPerSecond: 100,
    maxActive: 100,
    admissionTtlSeconds: 60,
    sessionTtlSeconds: 600,
  };
  const res = await call('PUT', `/performances/${performanceId}/queue`, { body, session: admin });
  expect(res.statusCode, res.body).toBe(200);
}

/**
 * Every seat of a performance as `GET /performances/:id/seats` lists them (`query`: e.g.
 * `status=AVAILABLE`), following the pages of 100; expects each page to answer 200.
 */
export async function listSeats<Seat>(call: Caller, performanceId: number, query = ''): Promise<Seat[]> {
  const found: Seat[] = [];
  let cursor: string | null = null;
  do {
    const page = await call(
      'GET',
      `/performances/${performanceId}/seats?limit=100${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(page.statusCode, page.body).toBe(200);
    found.push(...page.json().items);
    cursor = page.json().nextCursor;
  } while (cursor);
  return found;
}
