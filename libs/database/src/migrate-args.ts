import { ConfigError } from '@app/config';
import { DatabaseConnectError, type RevertTransaction } from './database-bootstrap';
import { ConcurrentIndexInTransactionError } from './migrations/concurrent-index';

/** What `migrate.js` was asked to do. */
export type MigrateCommand = { command: 'run' } | { command: 'revert'; transaction: RevertTransaction };

/** Arguments `migrate.js` does not take: the message says what it does take. */
export class MigrateUsageError extends Error {
  constructor(problem: string) {
    super(
      `${problem}. Usage: migrate.js (apply the pending migrations) | ` +
        'migrate.js revert [--transaction each|all|none] (revert the last one; none for a migration that ' +
        'builds or drops indexes CONCURRENTLY)',
    );
    this.name = 'MigrateUsageError';
  }
}

const TRANSACTIONS: readonly RevertTransaction[] = ['each', 'all', 'none'];

/**
 * The command of `migrate.js`'s arguments (`process.argv` after the script): none, or `run`,
 * applies the pending migrations; `revert` reverts the last one, in a transaction unless
 * `--transaction none` (also `--transaction=none`, `-t none`, as TypeORM's CLI took it). Throws
 * MigrateUsageError for anything else.
 */
export function parseMigrateArgs(args: readonly string[]): MigrateCommand {
  const [command = 'run', ...options] = args;
  if (command === 'run') {
    if (options.length > 0) throw new MigrateUsageError(`run takes no options (got ${options.join(' ')})`);
    return { command: 'run' };
  }
  if (command !== 'revert') throw new MigrateUsageError(`unknown command ${JSON.stringify(command)}`);
  let transaction: RevertTransaction = 'each';
  for (let i = 0; i < options.length; i += 1) {
    const option = options[i];
    const inline = /^--transaction=(.*)$/.exec(option);
    let value: string | undefined;
    if (inline) value = inline[1];
    else if (option === '--transaction' || option === '-t') value = options[(i += 1)];
    else throw new MigrateUsageError(`unknown option ${JSON.stringify(option)}`);
    if (!TRANSACTIONS.includes(value as RevertTransaction)) {
      throw new MigrateUsageError(`--transaction must be each, all or none (got ${JSON.stringify(value ?? '')})`);
    }
    transaction = value as RevertTransaction;
  }
  return { command: 'revert', transaction };
}

/**
 * What `migrate.js` prints when it fails: the message alone when it says what to do (a setting, an
 * argument, the database out of reach, a revert that needs `--transaction none`), else the error
 * with its stack.
 */
export function migrateFailureText(error: unknown): unknown {
  const saysWhatToDo =
    error instanceof ConfigError ||
    error instanceof DatabaseConnectError ||
    error instanceof MigrateUsageError ||
    error instanceof ConcurrentIndexInTransactionError;
  return saysWhatToDo ? error.message : error;
}
