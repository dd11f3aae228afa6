import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { isEmail } from 'class-validator';
import { DataSource } from 'typeorm';
import { AdminAccountsService, PasswordHasher } from '@app/auth';
import { ConfigError, loadEnv } from '@app/config';
import {
  AuthEventsRepository,
  dataSourceOptions,
  ensureDatabase,
  runMigrations,
  TransactionRunner,
  UsersRepository,
} from '@app/database';

const USAGE = 'usage: npm run admin:create -- --email <email> --password <8-128 chars> [--name <1-100 chars>]';

/** Exit code for a wrong command line, as opposed to a failure while running it. */
const EXIT_USAGE = 2;

class UsageError extends Error {}

function readArguments(): { email: string; password: string; name?: string } {
  let values: { email?: string; password?: string; name?: string };
  try {
    ({ values } = parseArgs({
      options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { email, password, name } = values;
  if (!email || !isEmail(email)) throw new UsageError('--email must be an e-mail address');
  if (!password || password.length < 8 || password.length > 128) throw new UsageError('--password must be 8-128 chars');
  if (name !== undefined && (name.trim().length < 1 || name.length > 100)) {
    throw new UsageError('--name must be 1-100 characters');
  }
  return { email, password, name: name?.trim() };
}

/** Creates an admin, or makes an existing account an admin with the given password. */
async function main(): Promise<void> {
  const input = readArguments();
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
    );
    const { user, granted } = await admins.ensureAdmin(input);
    console.log(
      granted
        ? `${user.email} is now an admin (id ${user.id})`
        : `${user.email} was already an admin; password updated (id ${user.id})`,
    );
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(EXIT_USAGE);
  }
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
