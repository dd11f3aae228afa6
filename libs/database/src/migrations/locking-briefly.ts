import { QueryRunner } from 'typeorm';

/**
 * The longest a migration's statements on busy tables wait for their locks: while an ALTER waits
 * behind a long transaction, every request touching that table queues behind the ALTER, so the
 * migration fails in seconds instead.
 */
export const MIGRATION_LOCK_TIMEOUT = '5s';

/** What the error of a lock not had in time tells the operator. */
export interface LockedTables {
  /** The migration's class name, e.g. `TicketTransfers1799400000000`. */
  migration: string;
  /** The tables, as written in the message: `"tickets" or "users"`. */
  tables: string;
  /** What waiting would stall: `every login`. */
  stalls: string;
  /** How the retry hint names the tables: `"users"`, `them`, `it`. */
  holders: string;
}

/**
 * Runs `work` with its lock waits bounded by MIGRATION_LOCK_TIMEOUT (SET LOCAL: to the end of the
 * migration's own transaction; outside one, for the session until `work` ends). A lock not had in time rolls the migration back (nothing of it
 * stays) and raises an Error telling the operator to retry, PostgreSQL's error (55P03) as its
 * `cause`; other errors pass unchanged.
 */
export async function lockingBriefly(
  queryRunner: QueryRunner,
  locked: LockedTables,
  work: () => Promise<void>,
): Promise<void> {
  // Outside a transaction (a revert with `--transaction none`) SET LOCAL does nothing: the bound is
  // set for the session then, and reset after.
  const inTransaction = queryRunner.isTransactionActive;
  await queryRunner.query(`SET ${inTransaction ? 'LOCAL ' : ''}lock_timeout = '${MIGRATION_LOCK_TIMEOUT}'`);
  try {
    await work();
  } catch (error) {
    const code =
      (error as { code?: unknown; driverError?: { code?: unknown } }).driverError?.code ??
      (error as { code?: unknown }).code;
    if (code !== '55P03') throw error;
    throw new Error(
      `Migration ${locked.migration} rolled back, nothing changed: another transaction held a lock on table ${locked.tables} ` +
        `for ${MIGRATION_LOCK_TIMEOUT} (lock_timeout), and waiting longer would stall ${locked.stalls} behind it. ` +
        `Retry the migration (restart the process) once no long transaction holds ${locked.holders} (see pg_stat_activity, pg_locks).`,
      { cause: error },
    );
  } finally {
    if (!inTransaction) await queryRunner.query('RESET lock_timeout');
  }
}
