import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { verify } from '@node-rs/argon2';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createTestEnv, destroyTestEnv, TestEnv } from '@app/testing';

const CLI = join(__dirname, '..', '..', '..', 'dist', 'apps', 'api', 'admin-create.js');

describe('npm run admin:create (the built CLI against real PostgreSQL)', () => {
  let env: TestEnv;
  let db: Client;

  /**
   * Runs the CLI to its exit: its code and its stdout and stderr. Not `spawnSync`, which blocks the
   * worker: then only a timer of its own bounds the run (30 s, which a start on a loaded machine
   * outlasted), where the test's own time limit bounds this one.
   */
  const runWithInput = (input: string, ...args: string[]): Promise<{ code: number | null; output: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
      child.stdin.end(input);
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, output }));
    });
  const run = (...args: string[]) => runWithInput('', ...args);
  const accounts = async (email: string) =>
    (await db.query('SELECT name, role FROM users WHERE lower(email) = lower($1)', [email])).rows;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
    env = await createTestEnv();
    db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    if (env) await destroyTestEnv(env);
  });

  // Every test runs the CLI on accounts of its own: all run at once, each start (~2 s of CPU, 10-17 s
  // at a load of 10-20) beside the others instead of after them.
  it.concurrent('creates an admin, and running it again keeps one account', async ({ expect }) => {
    expect((await run('--email', 'first@example.com', '--password', 'first-password')).code).toBe(0);
    expect(await accounts('first@example.com')).toEqual([{ name: 'Administrator', role: 'ADMIN' }]);
    const again = await run('--email', 'FIRST@example.com', '--password', 'first-password', '--name', 'Root');
    expect(again.code).toBe(0);
    expect(again.output).toContain('already an admin');
    expect(again.output).not.toContain('first-password');
    expect(await accounts('first@example.com')).toEqual([{ name: 'Root', role: 'ADMIN' }]);
  });

  it.concurrent('promotes an existing user and keeps their name', async ({ expect }) => {
    await db.query(
      `INSERT INTO users (email, email_key, name, role, password_hash)
       VALUES ('grace@example.com', 'grace@example.com', 'Grace', 'USER', 'x')`,
    );
    const result = await run('--email', 'grace@example.com', '--password', 'new-password');
    expect(result.code).toBe(0);
    expect(result.output).toContain('is now an admin');
    expect(await accounts('grace@example.com')).toEqual([{ name: 'Grace', role: 'ADMIN' }]);
  });

  it.concurrent(
    'finds an account by any case of its address, ß as SS and a final ς as Σ, never making a second',
    async ({ expect }) => {
      const first = await run('--email', 'straße.οδυσσεας@example.com', '--password', 'first-password');
      expect(first.code).toBe(0);
      const again = await run('--email', 'STRASSE.ΟΔΥΣΣΕΑΣ@example.com', '--password', 'other-password');
      expect(again.code, again.output).toBe(0);
      expect(again.output).toContain('already an admin');
      const rows = (await db.query(`SELECT email FROM users WHERE email_key = 'strasse.οδυσσεασ@example.com'`)).rows;
      expect(rows).toEqual([{ email: 'straße.οδυσσεας@example.com' }]);
    },
  );

  it.concurrent('reads the password from standard input with --password-stdin', async ({ expect }) => {
    const made = await runWithInput('piped-password\n', '--email', 'piped@example.com', '--password-stdin');
    expect(made.code, made.output).toBe(0);
    expect(await accounts('piped@example.com')).toEqual([{ name: 'Administrator', role: 'ADMIN' }]);
    const [{ password_hash: hash }] = (
      await db.query('SELECT password_hash FROM users WHERE email = $1', ['piped@example.com'])
    ).rows;
    expect(await verify(hash, 'piped-password')).toBe(true);
    const short = await runWithInput('short\n', '--email', 'piped@example.com', '--password-stdin');
    expect(short.code).toBe(2);
    expect(short.output).toContain('--password must be 8-128 chars');
    const both = await runWithInput('x', '--email', 'a@b.io', '--password', 'long-enough', '--password-stdin');
    expect(both.code).toBe(2);
    expect(both.output).toContain('not both');
  });

  it.concurrent('refuses a password too easily guessed, saying why, and makes no account', async ({ expect }) => {
    const result = await run('--email', 'guessable@example.com', '--password', '12345678');
    expect(result.code).toBe(1);
    expect(result.output.trim()).toBe(
      'password must not be a run of consecutive characters, such as 12345678 or abcdefgh',
    );
    expect(await accounts('guessable@example.com')).toEqual([]);
  });

  // Each refused before it connects anywhere.
  it.concurrent.for([
    [['--password', 'long-enough'], '--email'],
    [['--email', 'not-an-email', '--password', 'long-enough'], '--email'],
    [['--email', 'a@b.io', '--password', 'short'], '--password'],
    [['--email', 'a@b.io', '--password', 'long-enough', '--name', ''], '--name'],
    [['--email', 'a@b.io', '--password', 'long-enough', '--role', 'x'], 'role'],
  ] as [string[], string][])('refuses %j with the usage line', async ([args, mentioned], { expect }) => {
    const result = await run(...args);
    expect(result.code).toBe(2);
    expect(result.output).toContain(mentioned);
    expect(result.output).toContain('usage: npm run admin:create');
  });
});
