import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvWithoutDatabase, dropDatabase, migrationDataSource, TestEnv, waitUntil } from '@app/testing';
import { ensureDatabase, runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { TokenLimitAndTransferIndexes1799470000000 } from './1799470000000-TokenLimitAndTransferIndexes';
import { ConcurrentIndexInTransactionError } from './concurrent-index';

const BEFORE = MIGRATIONS.slice(0, MIGRATIONS.indexOf(TokenLimitAndTransferIndexes1799470000000));
const UP_TO = MIGRATIONS.slice(0, MIGRATIONS.indexOf(TokenLimitAndTransferIndexes1799470000000) + 1);
const AUTH_EVENTS_INDEX = 'auth_events_user_type_created_idx';
const TRANSFERS_INDEX = 'ticket_transfers_ticket_id_idx';

/** Whether each of the migration's indexes exists and is valid: absent, `valid`, `INVALID`. */
async function stateOf(db: DataSource): Promise<Record<string, string>> {
  const rows: { name: string; valid: boolean | null }[] = await db.query(
    `SELECT n.name, i.indisvalid AS valid
       FROM unnest($1::text[]) AS n(name) LEFT JOIN pg_index i ON i.indexrelid = to_regclass(n.name)`,
    [[AUTH_EVENTS_INDEX, TRANSFERS_INDEX]],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.valid === null ? 'absent' : r.valid ? 'valid' : 'INVALID']));
}

async function definitionOf(db: DataSource, name: string): Promise<string | undefined> {
  const [row]: { indexdef: string }[] = await db.query('SELECT indexdef FROM pg_indexes WHERE indexname = $1', [name]);
  return row?.indexdef;
}

/** The plan of `sql` with sequential scans priced out, so that only a missing index leaves one. */
async function planOf(db: DataSource, sql: string, parameters: unknown[]): Promise<string> {
  return db.transaction(async (manager) => {
    await manager.query('SET LOCAL enable_seqscan = off');
    const rows: { 'QUERY PLAN': string }[] = await manager.query(`EXPLAIN ${sql}`, parameters);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  });
}

/** issueToken's limit (single-use-tokens.ts): the account's events of the token's kind in the window. */
const TOKEN_LIMIT_COUNT = `SELECT count(*) FROM auth_events e
  WHERE e.user_id = $1 AND e.type = $2 AND e.created_at > now() - make_interval(secs => $3)`;

/** A purchase cancel's lookup (purchase.repository.ts): the accepted transfer of each canceled transferred ticket. */
const ACCEPTED_TRANSFER_OF_TICKET = `WITH canceled AS (
    SELECT * FROM unnest($1::bigint[], $2::uuid[]) AS c(id, holder_id)
  )
  SELECT tr.id FROM canceled
    JOIN LATERAL (SELECT x.id FROM ticket_transfers x
                   WHERE x.ticket_id = canceled.id AND x.status = 'ACCEPTED' AND x.recipient_id = canceled.holder_id
                   ORDER BY x.accepted_at DESC LIMIT 1) tr ON true`;

/**
 * Migration TokenLimitAndTransferIndexes on real PostgreSQL, on tables of a size where the plans
 * mean something (2,000 accounts with 10 events each and one with 3,000 reset requests; 1,000
 * tickets with 3 transfers each): an INVALID leftover of an interrupted build is rebuilt, the real
 * queries use the indexes, down drops them, and building them again lets writes go on meanwhile.
 */
describe('migration TokenLimitAndTransferIndexes (real PostgreSQL)', () => {
  let env: TestEnv;
  let db: DataSource;
  let flooded: string;
  let transferred: { ids: string[]; holders: string[] };

  beforeAll(async () => {
    env = createTestEnvWithoutDatabase();
    await ensureDatabase(env.DATABASE_URL);
    const old = await migrationDataSource(env, BEFORE).initialize();
    await runMigrations(old);
    await old.query(
      `INSERT INTO users (email, email_key, name, password_hash, email_verified_at)
       SELECT 'u' || i || '@example.test', 'u' || i || '@example.test', 'U', 'x', now() FROM generate_series(1, 2000) i`,
    );
    await old.query(
      `INSERT INTO auth_events (user_id, type, created_at)
       SELECT u.id, (ARRAY['SIGNED_UP', 'PASSWORD_RESET_REQUESTED', 'EMAIL_VERIFICATION_REQUESTED', 'PASSWORD_RESET'])[1 + k % 4],
              now() - (k * 997 + length(u.email)) * interval '1 minute'
         FROM users u, generate_series(1, 10) k`,
    );
    [{ id: flooded }] = await old.query(`SELECT id FROM users WHERE email = 'u1@example.test'`);
    await old.query(
      `INSERT INTO auth_events (user_id, type, created_at)
       SELECT $1, 'PASSWORD_RESET_REQUESTED', now() - i * interval '5 minutes' FROM generate_series(1, 3000) i`,
      [flooded],
    );
    const [event] = await old.query(
      `INSERT INTO events (title, venue, currency) VALUES ('S', 'H', 'EUR') RETURNING id`,
    );
    const [performance] = await old.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, now() + interval '30 days', now(), 1000) RETURNING id`,
      [event.id],
    );
    await old.query(
      `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price)
       SELECT $1, s, 'A', 1 + s / 50, (1 + s / 50)::text, 1 + s % 50, 'R', 1000 FROM generate_series(0, 999) s`,
      [performance.id],
    );
    await old.query(
      `INSERT INTO tickets (purchase_id, performance_id, seat_id) SELECT gen_random_uuid(), $1, id FROM seats`,
      [performance.id],
    );
    // Each ticket offered twice and withdrawn, then offered and accepted: its holder is the recipient.
    await old.query(
      `INSERT INTO ticket_transfers (id, ticket_id, sender_id, recipient_email, recipient_email_key, recipient_id,
                                     status, created_at, expires_at, accepted_at, canceled_at, cancel_reason)
       SELECT gen_random_uuid(), t.id, s.id, r.email_key, r.email_key, CASE WHEN k = 3 THEN r.id END,
              CASE WHEN k = 3 THEN 'ACCEPTED' ELSE 'CANCELED' END, now() - (4 - k) * interval '1 hour',
              now() + interval '1 day', CASE WHEN k = 3 THEN now() END, CASE WHEN k < 3 THEN now() END,
              CASE WHEN k < 3 THEN 'SENDER' END
         FROM tickets t, generate_series(1, 3) k,
              LATERAL (SELECT id FROM users WHERE email = 'u' || (2 + t.id % 1000) || '@example.test') s,
              LATERAL (SELECT id, email_key FROM users WHERE email = 'u' || (1002 + t.id % 998) || '@example.test') r`,
    );
    await old.query(
      `UPDATE tickets t SET holder_id = tr.recipient_id FROM ticket_transfers tr
        WHERE tr.ticket_id = t.id AND tr.status = 'ACCEPTED'`,
    );
    const [picked]: { ids: string[]; holders: string[] }[] = await old.query(
      `SELECT array_agg(id::text) AS ids, array_agg(holder_id) AS holders
         FROM (SELECT id, holder_id FROM tickets ORDER BY id LIMIT 3) t`,
    );
    transferred = picked;
    await old.query('ANALYZE');
    await old.destroy();
    db = await migrationDataSource(env, UP_TO).initialize();
  }, 60_000);
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(env.DATABASE_URL);
  });

  it('before it: the limit reads all of an account’s events, the cancel’s lookup has no index', async () => {
    expect(await stateOf(db)).toEqual({ [AUTH_EVENTS_INDEX]: 'absent', [TRANSFERS_INDEX]: 'absent' });
    const count = await planOf(db, TOKEN_LIMIT_COUNT, [flooded, 'PASSWORD_RESET_REQUESTED', 900]);
    expect(count).toMatch(/Index Cond: \(user_id = /);
    expect(count).toMatch(/Filter: .*type.*created_at/);
    expect(await planOf(db, ACCEPTED_TRANSFER_OF_TICKET, [transferred.ids, transferred.holders])).toMatch(
      /Seq Scan on ticket_transfers x .*\n *Filter: \(\(ticket_id = c\.id\)/,
    );
  });

  it('drops the INVALID leftovers of interrupted builds and builds them again', async () => {
    // An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index of its name, as a failed one
    // does: these fail on duplicates (an account's events of one time, a ticket's several transfers).
    await db.query(
      `INSERT INTO auth_events (user_id, type, created_at)
       VALUES ($1, 'SIGNED_UP', '2026-01-01Z'), ($1, 'SIGNED_UP', '2026-01-01Z')`,
      [flooded],
    );
    await expect(
      db.query(`CREATE UNIQUE INDEX CONCURRENTLY "${AUTH_EVENTS_INDEX}" ON auth_events (user_id, type, created_at)`),
    ).rejects.toThrow(/could not create unique index/);
    await expect(
      db.query(`CREATE UNIQUE INDEX CONCURRENTLY "${TRANSFERS_INDEX}" ON ticket_transfers (ticket_id)`),
    ).rejects.toThrow(/could not create unique index/);
    expect(await stateOf(db)).toEqual({ [AUTH_EVENTS_INDEX]: 'INVALID', [TRANSFERS_INDEX]: 'INVALID' });

    expect(await runMigrations(db)).toEqual([TokenLimitAndTransferIndexes1799470000000.name]);
    expect(await stateOf(db)).toEqual({ [AUTH_EVENTS_INDEX]: 'valid', [TRANSFERS_INDEX]: 'valid' });
    expect(await definitionOf(db, AUTH_EVENTS_INDEX)).toBe(
      `CREATE INDEX ${AUTH_EVENTS_INDEX} ON public.auth_events USING btree (user_id, type, created_at)`,
    );
    expect(await definitionOf(db, TRANSFERS_INDEX)).toBe(
      `CREATE INDEX ${TRANSFERS_INDEX} ON public.ticket_transfers USING btree (ticket_id)`,
    );
  });

  it('the limit counts from the new index alone, the cancel’s lookup goes by ticket', async () => {
    await db.query('ANALYZE auth_events, ticket_transfers');
    expect(await planOf(db, TOKEN_LIMIT_COUNT, [flooded, 'PASSWORD_RESET_REQUESTED', 900])).toMatch(
      new RegExp(`Index Only Scan using ${AUTH_EVENTS_INDEX} on auth_events`),
    );
    expect(await planOf(db, ACCEPTED_TRANSFER_OF_TICKET, [transferred.ids, transferred.holders])).toMatch(
      new RegExp(`Index Scan (using|on) ${TRANSFERS_INDEX}.*\\n *Index Cond: \\(ticket_id = c\\.id\\)`),
    );
    // And without priced-out sequential scans, on these tables, as on a live database.
    const plan: { 'QUERY PLAN': string }[] = await db.query(`EXPLAIN ${TOKEN_LIMIT_COUNT}`, [
      flooded,
      'PASSWORD_RESET_REQUESTED',
      900,
    ]);
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toMatch(`Index Only Scan using ${AUTH_EVENTS_INDEX}`);
  });

  it('refuses to go down inside a transaction, changing nothing, and says how to revert', async () => {
    const refusal = db.undoLastMigration({ transaction: 'each' });
    await expect(refusal).rejects.toThrow(
      /CONCURRENTLY.*inside a transaction.*nothing changed.*migration:revert -- --transaction none/,
    );
    // Its own class, so `npm run migration:revert` prints that message alone (migrateFailureText).
    await expect(refusal).rejects.toBeInstanceOf(ConcurrentIndexInTransactionError);
    expect(await stateOf(db)).toEqual({ [AUTH_EVENTS_INDEX]: 'valid', [TRANSFERS_INDEX]: 'valid' });
    expect(
      await db.query('SELECT 1 FROM migrations WHERE name = $1', [TokenLimitAndTransferIndexes1799470000000.name]),
    ).toHaveLength(1);
  });

  it('goes down outside one: both indexes dropped, the migration no longer recorded', async () => {
    await db.undoLastMigration({ transaction: 'none' });
    expect(await stateOf(db)).toEqual({ [AUTH_EVENTS_INDEX]: 'absent', [TRANSFERS_INDEX]: 'absent' });
    expect(
      await db.query('SELECT 1 FROM migrations WHERE name = $1', [TokenLimitAndTransferIndexes1799470000000.name]),
    ).toEqual([]);
    // The index the limit used before is still there.
    expect(await definitionOf(db, 'auth_events_user_id_idx')).toMatch(/\(user_id\)$/);
  });

  it('builds them again while sign-ups, token requests and transfers write, and a replica starts', async () => {
    // A transaction that wrote to auth_events and is still open (a long one, a slow request): any
    // index build waits for it. A plain CREATE INDEX waits holding its claim on a SHARE lock, and
    // every later write of the table queues behind it; CONCURRENTLY leaves them alone.
    const writer = db.createQueryRunner();
    await writer.startTransaction();
    const replica = await migrationDataSource(env, UP_TO).initialize();
    let migrating: Promise<string[]> | undefined;
    let replicaMigrating: Promise<string[]> | undefined;
    try {
      await writer.query(`INSERT INTO auth_events (user_id, type) VALUES ($1, 'SIGNED_UP')`, [flooded]);
      migrating = runMigrations(db);
      const migrationWaits = async (): Promise<boolean> =>
        (
          await db.query(
            `SELECT 1 FROM pg_stat_activity
              WHERE datname = current_database() AND query LIKE '%INDEX%${AUTH_EVENTS_INDEX}%' AND wait_event_type = 'Lock'`,
          )
        ).length > 0;
      await waitUntil(migrationWaits, 'the build waiting for the open writer');
      // Meanwhile a token request and a transfer's change still write, each within a bounded wait:
      // a write queued behind the build fails the test (55P03).
      await db.transaction(async (manager) => {
        await manager.query(`SET LOCAL lock_timeout = '3s'`);
        await manager.query(
          `INSERT INTO auth_events (user_id, type, created_at) VALUES ($1, 'PASSWORD_RESET_REQUESTED', clock_timestamp())`,
          [flooded],
        );
        await manager.query(
          `UPDATE ticket_transfers SET canceled_at = now() WHERE ticket_id = $1 AND status = 'CANCELED'`,
          [transferred.ids[0]],
        );
      });
      expect(await migrationWaits()).toBe(true);
      // A replica starting meanwhile waits for the migration lock, then finds nothing to do. While it
      // waits it must hold no snapshot, which the build waits for (a deadlock PostgreSQL cannot see).
      replicaMigrating = runMigrations(replica);
      await waitUntil(
        async () =>
          // The replica's session only: the migrating process builds on its lock's own session.
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                   AND query LIKE 'SELECT pg_%advisory_lock(%'`,
            )
          ).length === 1,
        'the replica asking for the migration lock',
      );
      await writer.commitTransaction();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        Promise.all([migrating, replicaMigrating]),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve('both still migrating after 20 s'), 20_000);
        }),
      ]);
      clearTimeout(timer);
      expect(outcome).toEqual([[TokenLimitAndTransferIndexes1799470000000.name], []]);
    } finally {
      if (writer.isTransactionActive) await writer.rollbackTransaction();
      await writer.release();
      // A hung build and replica (the deadlock above) are ended with their sessions, this test's.
      await db.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`,
      );
      await Promise.all([migrating?.catch(() => undefined), replicaMigrating?.catch(() => undefined)]);
      await replica.destroy();
    }
    expect(await stateOf(db)).toEqual({ [AUTH_EVENTS_INDEX]: 'valid', [TRANSFERS_INDEX]: 'valid' });
  }, 60_000);

  it('every migration still runs from an empty database, this one outside a transaction', async () => {
    const scratch = createTestEnvWithoutDatabase();
    await ensureDatabase(scratch.DATABASE_URL);
    const fresh = await migrationDataSource(scratch, MIGRATIONS).initialize();
    try {
      expect(await runMigrations(fresh)).toEqual(MIGRATIONS.map((migration) => migration.name));
      expect(await stateOf(fresh)).toEqual({ [AUTH_EVENTS_INDEX]: 'valid', [TRANSFERS_INDEX]: 'valid' });
      expect(await runMigrations(fresh)).toEqual([]);
    } finally {
      await fresh.destroy();
      await dropDatabase(scratch.DATABASE_URL);
    }
  }, 60_000);
});
