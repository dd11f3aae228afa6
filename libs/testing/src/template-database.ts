import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '@app/database';

const SERVER_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const MIGRATIONS_DIR = join(__dirname, '..', '..', 'database', 'src', 'migrations');
/** PostgreSQL refuses to copy a template while a session is connected to it (55006). */
const TEMPLATE_IN_USE = '55006';
const CLONE_TIMEOUT_MS = 30_000;

let template: Promise<string> | undefined;

/**
 * The name of the migrated template database every test database is cloned from:
 * `bo_test_tpl_<hash>`, the hash of the migration sources, so a changed or added migration gives
 * a new template and a run never clones a stale schema. Created at most once per schema, by the
 * first process that needs it (vitest's global setup), and shared by every later run.
 */
export function templateDatabase(): Promise<string> {
  template ??= ensureTemplate().catch((error: unknown) => {
    template = undefined;
    throw error;
  });
  return template;
}

/**
 * Creates the database named in `databaseUrl` as a copy of the migrated template: a few
 * milliseconds, where migrating an empty database takes seconds. Retries while another session
 * holds the template (a run that is still publishing it), for up to 30 s.
 */
export async function cloneTemplateDatabase(databaseUrl: string): Promise<void> {
  const source = await templateDatabase();
  const name = new URL(databaseUrl).pathname.slice(1);
  const until = Date.now() + CLONE_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await onServer((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${source}"`));
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== TEMPLATE_IN_USE || Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(20 * attempt, 200)));
    }
  }
}

function schemaHash(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) {
    if (!file.endsWith('.ts') || file.includes('spec')) continue;
    hash.update(file).update(readFileSync(join(MIGRATIONS_DIR, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

/**
 * Migrates a private database, then publishes it under the template's name with a rename, which
 * is atomic: a run that clones never sees a half-migrated template, and two runs that build it at
 * once both succeed (the loser drops its copy). Connections to the template are then refused, so
 * no session can block a clone.
 */
async function ensureTemplate(): Promise<string> {
  const name = `bo_test_tpl_${schemaHash()}`;
  const exists = await onServer((client) => client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]));
  if (exists.rowCount) return name;

  const building = `${name}_build_${process.pid}`;
  await onServer(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${building}"`);
    await client.query(`CREATE DATABASE "${building}"`);
  });
  const dataSource = await new DataSource(
    dataSourceOptions({
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${building}`,
      DATABASE_POOL_SIZE: 2,
      DATABASE_ACQUIRE_TIMEOUT_MS: 10_000,
      DATABASE_QUERY_TIMEOUT_MS: 60_000,
    }),
  ).initialize();
  try {
    await runMigrations(dataSource);
  } finally {
    await dataSource.destroy();
  }
  await onServer(async (client) => {
    await client.query(`ALTER DATABASE "${building}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    try {
      await client.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
    } catch (error) {
      // 42P04: another run published the same schema first; its copy is as good as ours.
      if ((error as { code?: string }).code !== '42P04') throw error;
      await client.query(`ALTER DATABASE "${building}" WITH IS_TEMPLATE false`);
      await client.query(`DROP DATABASE "${building}"`);
    }
  });
  return name;
}

async function onServer<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: SERVER_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
