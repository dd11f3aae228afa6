import { QueryRunner } from 'typeorm';

/** An index a migration builds without blocking writes to its table. */
export interface ConcurrentIndex {
  /** The index's name, found through the search path as the tables are, e.g. `ticket_transfers_ticket_id_idx`. */
  name: string;
  /** What follows `CREATE INDEX CONCURRENTLY IF NOT EXISTS "<name>"`: `ON "table" ("column", …)`. */
  on: string;
}

/**
 * Builds `index` with CREATE INDEX CONCURRENTLY: reads and writes of its table go on while it
 * builds (it takes SHARE UPDATE EXCLUSIVE, which no INSERT, UPDATE or DELETE waits for), where a
 * plain CREATE INDEX locks out every write to the end of the migration's transaction.
 *
 * Only outside a transaction block (PostgreSQL refuses CONCURRENTLY in one): the migration class
 * sets `transaction = false`. A build that fails or is interrupted (a lost connection, a killed
 * process, a duplicate in a unique index) leaves an INVALID index of that name behind, which the
 * planner never uses (and writes may still keep up to date, at their cost), and which
 * `IF NOT EXISTS` would then take for done: such a leftover is dropped (concurrently too) and built again, so running the
 * migration again finishes the work. A valid index of that name is kept as it is, so a retry after
 * a migration that built some of its indexes and failed on a later one builds only the rest.
 *
 * @throws the driver's error when the build fails; the index is then left INVALID (see above).
 * @throws ConcurrentIndexInTransactionError when `queryRunner` is inside a transaction, changing nothing.
 */
export async function createIndexConcurrently(queryRunner: QueryRunner, index: ConcurrentIndex): Promise<void> {
  if (queryRunner.isTransactionActive) throw outsideTransactionOnly('build', index.name);
  const [found]: { valid: boolean }[] = await queryRunner.query(
    `SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass(format('%I', $1::text))`,
    [index.name],
  );
  if (found && !found.valid) await dropIndexConcurrently(queryRunner, index.name);
  await queryRunner.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "${index.name}" ${index.on}`);
}

/**
 * Drops index `name` (found through the search path) with DROP INDEX CONCURRENTLY, which waits for the
 * transactions using it instead of locking its table against reads and writes; nothing when there
 * is no such index. Outside a transaction block only, as {@link createIndexConcurrently}.
 *
 * @throws Error when `queryRunner` is inside a transaction (a revert not run with `--transaction none`).
 */
export async function dropIndexConcurrently(queryRunner: QueryRunner, name: string): Promise<void> {
  if (queryRunner.isTransactionActive) throw outsideTransactionOnly('drop', name);
  await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "${name}"`);
}

/**
 * A CONCURRENTLY index statement asked for inside a transaction (a revert without
 * `--transaction none`): refused before anything changed; the message says how to revert.
 */
export class ConcurrentIndexInTransactionError extends Error {
  override name = 'ConcurrentIndexInTransactionError';
}

/**
 * Why a CONCURRENTLY statement cannot run here. TypeORM's revert runs `down` in a transaction
 * unless told otherwise, whatever the migration's own `transaction` says, hence the hint.
 */
function outsideTransactionOnly(what: 'build' | 'drop', name: string): ConcurrentIndexInTransactionError {
  return new ConcurrentIndexInTransactionError(
    `Index "${name}" is built and dropped CONCURRENTLY (writes to its table go on meanwhile), which PostgreSQL ` +
      `refuses inside a transaction, and this ${what} was asked for in one: nothing changed. Revert it with ` +
      '`npm run migration:revert -- --transaction none`; migrations run by the apps or `npm run migration:run` ' +
      'build it outside one already (its migration sets transaction = false).',
  );
}
