import { JwtService } from '@nestjs/jwt';
import { DataSource } from 'typeorm';
import { AdminAccountsService, PasswordHasher, SessionRevocations, TokenService } from '@app/auth';
import { loadEnv, warnUnknownEnvFileKeys } from '@app/config';
import { SystemClock } from '@app/core';
import {
  AuthEventsRepository,
  dataSourceOptions,
  ensureDatabase,
  RefreshTokensRepository,
  runMigrations,
  TransactionRunner,
  UsersRepository,
} from '@app/database';
import { createRedis } from '@app/redis';

/**
 * Creates an admin, or makes an existing account an admin with the given password: the work of
 * `npm run admin:create` once its command line is read (admin-create.ts), kept apart
 * so that a wrong command line is answered without importing TypeORM, Nest and the libraries,
 * which take most of a start (1.2 of 1.9 s on a quiet machine, several times that on a loaded one).
 * An account whose sessions this ends has them ended on every running api at once (through Redis,
 * as the apis' own changes do: SessionRevocations). Throws ConfigError on a bad environment,
 * StoreUnavailableError (nothing changed) when Redis cannot answer.
 */
export async function createAdmin(input: { email: string; password: string; name?: string }): Promise<void> {
  const env = loadEnv();
  warnUnknownEnvFileKeys();
  await ensureDatabase(env.DATABASE_URL);
  const dataSource = await new DataSource(dataSourceOptions(env)).initialize();
  const redis = createRedis(env, 'boxoffice-admin-create', { commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS });
  try {
    await runMigrations(dataSource);
    const users = new UsersRepository(dataSource);
    const clock = new SystemClock();
    const sessions = new SessionRevocations(users, redis, new TokenService(new JwtService(), env, clock), clock, env);
    const admins = new AdminAccountsService(
      users,
      new AuthEventsRepository(dataSource),
      new TransactionRunner(dataSource),
      new PasswordHasher(env),
      new RefreshTokensRepository(dataSource),
      sessions,
    );
    const { user, granted } = await admins.ensureAdmin(input);
    console.log(
      granted
        ? `${user.email} is now an admin (id ${user.id})`
        : `${user.email} was already an admin; password set (id ${user.id})`,
    );
  } finally {
    redis.disconnect();
    await dataSource.destroy();
  }
}
