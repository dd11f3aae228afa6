/** What `refuseCommitsOn` needs of a connection: a pg `Client` or a TypeORM `DataSource`. */
export interface SqlRunner {
  query(sql: string): Promise<unknown>;
}

/** The row changes a refusal fires on. */
export type RowEvent = 'INSERT' | 'UPDATE' | 'DELETE';

/** Where the refused transaction fails: at its COMMIT (the default), or at the statement itself. */
export interface RefuseOptions {
  at?: 'commit' | 'statement';
}

/** Function names of refusals made by this worker: each refusal drops only its own. */
let made = 0;

/**
 * Makes every later transaction that writes `events` on `tables` fail with "forced failure at
 * commit", until the answered `restore` drops what this made (a plpgsql function raising it and a
 * trigger per table). `restore` may be called more than once (say in the test and in afterEach).
 *
 * Deferred by default (a `DEFERRABLE INITIALLY DEFERRED` constraint trigger): the change's
 * statements all succeed, and only its COMMIT fails, as PostgreSQL refuses a COMMIT it cannot make
 * (a serialization failure, a deferred constraint, the server going away). That is the fault the
 * tests of "a change whose commit fails changes nothing" need: whatever ran between the writes and
 * the commit (a Redis write under the row lock, an audit row) has run. `at: 'statement'` fails
 * the first written row's statement instead (a BEFORE trigger), a write refused outright.
 */
export async function refuseCommitsOn(
  db: SqlRunner,
  tables: string | readonly string[],
  events: readonly RowEvent[],
  { at = 'commit' }: RefuseOptions = {},
): Promise<() => Promise<void>> {
  const refused = typeof tables === 'string' ? [tables] : tables;
  const name = `test_refuse_commit_${process.pid}_${++made}`;
  await db.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'forced failure at commit'; END $$`);
  for (const table of refused) {
    await db.query(
      at === 'commit'
        ? `CREATE CONSTRAINT TRIGGER ${name} AFTER ${events.join(' OR ')} ON ${table}
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${name}()`
        : `CREATE TRIGGER ${name} BEFORE ${events.join(' OR ')} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`,
    );
  }
  let restored = false;
  return async () => {
    if (restored) return;
    restored = true;
    for (const table of refused) await db.query(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
    await db.query(`DROP FUNCTION IF EXISTS ${name}()`);
  };
}
