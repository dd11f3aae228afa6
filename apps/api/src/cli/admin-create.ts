import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { isEmail } from 'class-validator';

const USAGE =
  'usage: npm run admin:create -- --email <email> (--password <8-128 chars> | --password-stdin) [--name <1-100 chars>]';

/** Exit code for a wrong command line, as opposed to a failure while running it. */
const EXIT_USAGE = 2;

class UsageError extends Error {}

/**
 * The command line, and with `--password-stdin` the password as the first line of standard input
 * (a password in the arguments shows in `ps` and in the line npm echoes; a pipe does not).
 */
async function readArguments(): Promise<{ email: string; password: string; name?: string }> {
  let values: { email?: string; password?: string; 'password-stdin'?: boolean; name?: string };
  try {
    ({ values } = parseArgs({
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        name: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { email, name } = values;
  if (!email || !isEmail(email)) throw new UsageError('--email must be an e-mail address');
  if (values['password-stdin'] && values.password !== undefined) {
    throw new UsageError('give --password or --password-stdin, not both');
  }
  const password = values['password-stdin'] ? await firstLineOfStdin() : values.password;
  if (!password || password.length < 8 || password.length > 128) throw new UsageError('--password must be 8-128 chars');
  if (name !== undefined && (name.trim().length < 1 || name.length > 100)) {
    throw new UsageError('--name must be 1-100 characters');
  }
  return { email, password, name: name?.trim() };
}

/**
 * Standard input's first line, without its line break, decoded as UTF-8 across chunks (readline),
 * read as soon as it ends: a terminal or an open pipe need not close first.
 */
async function firstLineOfStdin(): Promise<string> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

/** Creates an admin, or makes an existing account an admin with the given password. */
async function main(): Promise<void> {
  const input = await readArguments();
  // Imported only now: a wrong command line need not wait for TypeORM, Nest and the libraries.
  const { createAdmin } = await import('./admin-create-run.js');
  await createAdmin(input);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(EXIT_USAGE);
  }
  // A ConfigError (admin-create-run.ts, imported late) lists the bad variables in its message; an
  // InvalidInput (a password too easily guessed, an e-mail with invisible characters) says what is wrong.
  const known = error instanceof Error && (error.name === 'ConfigError' || error.name === 'InvalidInput');
  console.error(known ? error.message : error);
  process.exit(1);
});
