import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { Role } from '@app/auth';
import { EnvSource } from '@app/config';
import { createLogger } from '@app/logging';
import {
  createSession,
  createTestEnvWithoutDatabase,
  destroyTestEnv,
  PrivatePostgres,
  TestEnv,
  TestSession,
} from '@app/testing';
import { ApiModule } from '../../src/api.module';
import { createApiApp } from '../../src/bootstrap';
import { caller, createPerformance } from '../purchase-helpers';
import { Caller } from './api';

/** What {@link startPrivatePostgresApi} answers. */
export interface PrivatePostgresApi {
  /** The test's own PostgreSQL server, to stop, start, freeze and thaw. */
  pg: PrivatePostgres;
  /** The api's env: its database on `pg`, the rest as createTestEnvWithoutDatabase gives it. */
  env: TestEnv;
  app: NestFastifyApplication;
  call: Caller;
  /** An operator signed in (Role.Admin). */
  admin: TestSession;
  buyer: TestSession;
  /** A performance of `seats` seats (`createPerformance`), its seat page read once: warm in this process. */
  performance: { id: number; seatIds: number[] };
  eventId: number;
  /**
   * The payment attempts of reservation `reservationId` as PostgreSQL has them (charge id and
   * status), read on a connection of its own.
   */
  attemptsOf(reservationId: string): Promise<{ charge_id: string | null; status: string }[]>;
  /** Closes the api, drops its database and destroys the server (each only if it was started). */
  close(): Promise<void>;
}

/**
 * A PostgreSQL server of the test's own (`PrivatePostgres`, so the shared one on 5432 is never
 * stopped or frozen) and the api in this process on it (env `overrides`), which migrates its
 * database there at start; with an admin and a buyer signed in and a performance of `seats` seats
 * (default 10). A start that fails part way closes what it started, then throws.
 */
export async function startPrivatePostgresApi(overrides: EnvSource = {}, seats = 10): Promise<PrivatePostgresApi> {
  let pg: PrivatePostgres | undefined;
  let env: TestEnv | undefined;
  let app: NestFastifyApplication | undefined;
  const close = async () => {
    await app?.close();
    if (env) await destroyTestEnv(env);
    await pg?.destroy();
  };
  try {
    pg = await PrivatePostgres.start();
    const base = createTestEnvWithoutDatabase();
    // The name the shared server's test databases have, so destroyTestEnv drops nothing else there.
    const own: TestEnv = { ...base, DATABASE_URL: pg.url(new URL(base.DATABASE_URL).pathname.slice(1)), ...overrides };
    env = own;
    const logger = createLogger({ app: 'api', level: own.LOG_LEVEL, dir: own.LOG_DIR, console: 'none' });
    app = await createApiApp(ApiModule, { overrides: own, logger });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const call = caller(app);
    const admin = await createSession(app, { role: Role.Admin });
    const buyer = await createSession(app);
    const performance = await createPerformance(app, admin, seats);
    const eventId = (await call('GET', `/performances/${performance.id}`)).json().eventId as number;
    const attemptsOf = async (reservationId: string) => {
      const db = new Client({ connectionString: own.DATABASE_URL });
      await db.connect();
      try {
        const { rows } = await db.query<{ charge_id: string | null; status: string }>(
          'SELECT charge_id, status FROM payment_attempts WHERE reservation_id = $1',
          [reservationId],
        );
        return rows;
      } finally {
        await db.end();
      }
    };
    return { pg, env: own, app, call, admin, buyer, performance, eventId, attemptsOf, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
