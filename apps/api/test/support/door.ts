import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { expect } from 'vitest';
import { Role, SessionsService } from '@app/auth';
import { createLogger } from '@app/logging';
import { ApiHarness, TEST_PASSWORD, TestSession } from '@app/testing';
import { ApiModule } from '../../src/api.module';
import { createApiApp } from '../../src/bootstrap';
import { caller, flushPurchases, hold } from '../purchase-helpers';

/**
 * Buys `seatIds` of `performanceId` for `buyer` (a hold, then its purchase), writes it to
 * PostgreSQL (so its tickets exist) and returns the purchase id and its tickets as `GET
 * /purchases/:id/tickets` lists them (`T`: the ticket fields the caller reads).
 */
export async function buyTickets<T>(
  app: NestFastifyApplication,
  buyer: TestSession,
  performanceId: number,
  seatIds: number[],
): Promise<{ purchaseId: string; tickets: T[] }> {
  const call = caller(app);
  const held = await hold(app, buyer, performanceId, seatIds);
  const bought = await call('POST', '/purchases', { body: { reservationId: held.id }, session: buyer });
  expect(bought.statusCode, bought.body).toBe(201);
  await flushPurchases(app);
  const listed = await call('GET', `/purchases/${bought.json().id}/tickets`, { session: buyer });
  expect(listed.statusCode, listed.body).toBe(200);
  return { purchaseId: bought.json().id, tickets: listed.json().items };
}

/** A STAFF account `admin` creates through `POST /admin/staff`, signed in. */
export async function createStaffSession(
  app: NestFastifyApplication,
  admin: TestSession,
  email: string,
  name = email.split('@')[0],
): Promise<TestSession> {
  const created = await caller(app)('POST', '/admin/staff', {
    body: { email, password: TEST_PASSWORD, name },
    session: admin,
  });
  expect(created.statusCode, created.body).toBe(201);
  const tokens = await app.get(SessionsService).login(email, TEST_PASSWORD);
  return {
    id: created.json().id,
    email,
    role: Role.Staff,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    headers: { authorization: `Bearer ${tokens.accessToken}` },
  };
}

/**
 * A second api on `api`'s database, Redis and broker (another door, or the box office beside the
 * door), ready for requests; close it before `api`.
 */
export async function startSecondApi(api: ApiHarness): Promise<NestFastifyApplication> {
  const logger = createLogger({ app: 'api', level: 'warn', dir: api.env.LOG_DIR, console: 'none' });
  const app = await createApiApp(ApiModule, { overrides: api.env, logger });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
