import { DataSource } from 'typeorm';
import { AdminAccountsService, PasswordHasher } from '@app/auth';
import { loadEnv } from '@app/config';
import {
  AuthEventsRepository,
  dataSourceOptions,
  ensureDatabase,
  RefreshTokensRepository,
  runMigrations,
  TransactionRunner,
  UsersRepository,
} from '@app/database';

/**
 * Creates an admin, or makes an existing account an admin with the given password: the work of
 * `npm run admin:create` once its command line is read (admin-create.ts), kept apart
 * so that a wrong command line is answered without importing TypeORM, Nest and the libraries,
 * which take most of a start (1.2 of 1.9 s on a quiet machine, several times that on a loaded one).
 * Throws ConfigError on a bad environment.
 */
export async function createAdmin(input: { email: string; password: string; name?: string }): Promise<void> {
  const env = loadEnv();
  await ensureDatabase(env.DATABASE_URL);
  const dataSource = await new DataSource(dataSourceOptions(env)).initialize();
  try {
    await runMigrations(dataSource);
    const admins = new AdminAccountsService(
      new UsersRepository(dataSource),
      new AuthEventsRepository(dataSource),
      new TransactionRunner(dataSource),
      new PasswordHasher(env),
      new RefreshTokensRepository(dataSource),
    );
    const { user, granted } = await admins.ensureAdmin(input);
    console.log(
      granted
        ? `${user.email} is now an admin (id ${user.id})`
        : `${user.email} was already an admin; password set (id ${user.id})`,
    );
  } finally {
    await dataSource.destroy();
  }
}
