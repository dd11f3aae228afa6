import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { dataSourceOptions, MIGRATION_LOCK_KEY } from '@app/database';
import {
  createTestEnv,
  createTestEnvWithoutDatabase,
  dropDatabase,
  freePort,
  SERVER_DATABASE_URL,
  TestEnv,
  waitUntil,
} from '@app/testing';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * `npm run <script>` (`migration:run`, `migration:revert`) as package.json has it, without its
 * first step (`build-if-stale`: the test runs on a built tree, and two builds at once would race),
 * from the repository's root.
 */
function npmScriptCommand(script: string): string {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const [build, ...rest] = scripts[script].split(' && ');
  if (build !== 'node scripts/build-if-stale.mjs' || rest.length === 0) {
    throw new Error(`unexpected ${script} script: ${scripts[script]}`);
  }
  return rest.join(' && ');
}

const migrationRunCommand = () => npmScriptCommand('migration:run');

/** Runs `command` in a shell as npm would (node_modules/.bin on the PATH): its code and its output. */
function run(command: string, env: TestEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      cwd: ROOT,
      env: { ...process.env, ...env, PATH: `${join(ROOT, 'node_modules', '.bin')}${delimiter}${process.env.PATH}` },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('npm run migration:run (the built command against real PostgreSQL)', () => {
  const envs: TestEnv[] = [];
  afterAll(async () => {
    for (const env of envs) await dropDatabase(env.DATABASE_URL);
  });

  // What an operator's deploy step does beside an api replica starting on an empty database: the
  // runs take the apps' migration lock in turn, and the first creates the database when missing.
  it.each(['does not exist yet', 'exists, empty'])(
    'two runs at once on a database that %s both succeed, and apply each migration once',
    async (state) => {
      const env = createTestEnvWithoutDatabase();
      envs.push(env);
      if (state === 'exists, empty') {
        const server = new Client({ connectionString: SERVER_DATABASE_URL });
        await server.connect();
        await server.query(`CREATE DATABASE "${new URL(env.DATABASE_URL).pathname.slice(1)}"`);
        await server.end();
      }
      const command = migrationRunCommand();
      const [first, second] = await Promise.all([run(command, env), run(command, env)]);
      expect({ first: first.code, second: second.code }, `${first.output}\n---\n${second.output}`).toEqual({
        first: 0,
        second: 0,
      });
      const db = new Client({ connectionString: env.DATABASE_URL });
      await db.connect();
      try {
        const { rows } = await db.query<{ name: string; count: string }>(
          'SELECT name, count(*) FROM migrations GROUP BY name ORDER BY min(id)',
        );
        const names = (dataSourceOptions(parseEnv(env)).migrations as { name: string }[]).map(
          (migration) => migration.name,
        );
        expect(rows.map((row) => row.name)).toEqual(names);
        expect(rows.every((row) => row.count === '1')).toBe(true);
      } finally {
        await db.end();
      }
      // One of them applied every migration; the other found none pending.
      const applied = [first.output, second.output].filter((output) => output.includes('applied migrations:'));
      expect(applied).toHaveLength(1);
      expect([first.output, second.output].filter((output) => output.includes('no pending migrations'))).toHaveLength(
        1,
      );
      // And once more: nothing to do.
      const again = await run(command, env);
      expect(again.code, again.output).toBe(0);
      expect(again.output).toContain('no pending migrations');
    },
  );

  // PostgreSQL down: one line that names the setting and where it points, not a bare stack.
  it('exits 1 saying which host:port of DATABASE_URL it could not reach, without its password', async () => {
    const port = await freePort();
    const env = createTestEnvWithoutDatabase({
      DATABASE_URL: `postgres://boxoffice:pg-secret-password@127.0.0.1:${port}/boxoffice`,
    });
    const { code, output } = await run(migrationRunCommand(), env);
    expect(code).toBe(1);
    expect(output.trim()).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${port} (DATABASE_URL): connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });
});

describe('npm run migration:revert (the built command against real PostgreSQL)', () => {
  let env: TestEnv | undefined;
  let db: Client | undefined;
  afterAll(async () => {
    await db?.end();
    if (env) await dropDatabase(env.DATABASE_URL);
  });

  /** The names of the applied migrations, oldest first. */
  const applied = async (client: Client) =>
    (await client.query<{ name: string }>('SELECT name FROM migrations ORDER BY id')).rows.map((row) => row.name);

  it('waits for the migration lock a concurrent run holds, then reverts the last migration alone and says which; --transaction none reverts a CONCURRENTLY one', async () => {
    env = await createTestEnv();
    const migrations = dataSourceOptions(parseEnv(env)).migrations as (new () => { transaction?: boolean })[];
    const names = migrations.map((m) => m.name);
    // The migrations that run outside a transaction (CREATE/DROP INDEX CONCURRENTLY, or steps that
    // must not share one).
    const outsideTransaction = migrations.filter((m) => new m().transaction === false).map((m) => m.name);
    db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    expect(await applied(db)).toEqual(names);

    // This session holds the lock, as a replica migrating at its start (or a migration:run) does.
    await db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const command = npmScriptCommand('migration:revert');
    // The last migration may be one that runs outside a transaction: reverted so, as README says.
    const last = outsideTransaction.includes(names[names.length - 1]) ? `${command} --transaction none` : command;
    let finished = false;
    const revert = run(last, env).finally(() => (finished = true));
    const session = db;
    await waitUntil(async () => {
      const { rows } = await session.query<{ asking: number }>(
        `SELECT count(*)::int AS asking FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%pg_try_advisory_lock%'`,
      );
      return rows[0].asking > 0;
    }, 'the revert asks for the migration lock');
    // Refused the lock, it can neither finish nor have reverted anything.
    expect(finished).toBe(false);
    expect(await applied(db)).toEqual(names);

    await db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    const first = await revert;
    expect(first.code, first.output).toBe(0);
    expect(first.output.trim()).toBe(`reverted migration: ${names[names.length - 1]}`);
    expect(await applied(db)).toEqual(names.slice(0, -1));

    // Down to the latest migration left that drops its index CONCURRENTLY: refused in a
    // transaction, nothing changed; reverted with --transaction none (npm appends `-- --transaction none` so).
    // A migration outside a transaction for another reason reverts in one as any other.
    let concurrent: string | undefined;
    while (!concurrent) {
      const latest = (await applied(db)).at(-1);
      if (latest === undefined) throw new Error('no migration left whose revert needs --transaction none');
      const step = await run(command, env);
      if (step.code === 0) {
        expect(await applied(db)).not.toContain(latest);
        continue;
      }
      expect(outsideTransaction, step.output).toContain(latest);
      expect(step.output).toMatch(/CONCURRENTLY.*inside a transaction.*--transaction none/);
      expect((await applied(db)).at(-1)).toBe(latest);
      concurrent = latest;
    }
    const outside = await run(`${command} --transaction none`, env);
    expect(outside.code, outside.output).toBe(0);
    expect(outside.output.trim()).toBe(`reverted migration: ${concurrent}`);
    expect(await applied(db)).toEqual(names.slice(0, names.indexOf(concurrent)));
  });
});
