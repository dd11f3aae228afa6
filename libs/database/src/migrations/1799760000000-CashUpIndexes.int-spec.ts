import { DataSource, EntityManager } from 'typeorm';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseEnv } from '@app/config';
import { createTestEnv, dropDatabase, TestEnv } from '@app/testing';
import { ensureDatabase, runMigrations } from '../database-bootstrap';
import { dataSourceOptions } from '../data-source.options';
import { CashUpRepository } from '../repositories/cash-up.repository';

/** A node of EXPLAIN (ANALYZE, FORMAT JSON), as much of it as is read here. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Online purchases, one a minute back from the range: what the cash-up must not read. */
const ONLINE_PURCHASES = 20_000;
/** Box office sales, one every 10 minutes back from the range's end: 6 of them in its hour. */
const BOX_OFFICE_SALES = 3_000;
/** Audit rows of other actions (the cash-up reads refunds from the refunds' own records). */
const OTHER_AUDIT_ROWS = 10_000;

function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)];
}

/** Rows of `table` the plan read (returned or filtered out). */
const rowsRead = (root: PlanNode, table: string) =>
  nodes(root)
    .filter((node) => node['Relation Name'] === table)
    .reduce(
      (sum, node) => sum + (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'],
      0,
    );

/**
 * The cash-up's queries (CashUpRepository.read), read by EXPLAIN ANALYZE (rolled back) on
 * thousands of purchases and refunds outside its one-hour range: through the indexes of
 * migrations CashUpIndexes and RefundOperatorsIndexes they read the range's rows only; without
 * them, the tables.
 */
describe('migration CashUpIndexes: a cash-up reads its range only (real PostgreSQL)', () => {
  let env: TestEnv;
  let db: DataSource;
  const statements: { sql: string; parameters: unknown[] }[] = [];
  const end = new Date('2030-03-01T18:00:00Z');

  beforeAll(async () => {
    env = await createTestEnv();
    await ensureDatabase(env.DATABASE_URL);
    db = await new DataSource(dataSourceOptions(parseEnv(env))).initialize();
    await runMigrations(db);
    const [{ id: clerkId }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash, role)
       VALUES ('window@example.test', 'window@example.test', 'Window', 'not-a-hash', 'STAFF') RETURNING id`,
    );
    const [event] = await db.query(
      `INSERT INTO events (title, venue, currency) VALUES ('Show', 'Hall', 'EUR') RETURNING id`,
    );
    const [performance] = await db.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, '2030-03-01T19:00:00Z', now(), 0) RETURNING id`,
      [event.id],
    );
    await db.query(
      `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, charge_id, status, created_at)
       SELECT gen_random_uuid(), gen_random_uuid(), $1, $2, 1000, 'EUR', 'ch', 'PAID', $3::timestamptz - make_interval(mins => i)
         FROM generate_series(1, $4) AS i`,
      [clerkId, performance.id, end, ONLINE_PURCHASES],
    );
    await db.query(
      `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, status, created_at,
                              sale_channel, payment_method)
       SELECT gen_random_uuid(), gen_random_uuid(), $1, $2, 1000, 'EUR', 'PAID', $3::timestamptz - make_interval(mins => 10 * i - 5),
              'BOX_OFFICE', 'CASH'
         FROM generate_series(1, $4) AS i`,
      [clerkId, performance.id, end, BOX_OFFICE_SALES],
    );
    await db.query(
      `INSERT INTO admin_audit_log (actor_id, actor_email, action, subject_id, details, created_at)
       SELECT $1, 'window@example.test', 'seat.block', 'performance:' || $2, '{}'::jsonb, $3::timestamptz - make_interval(secs => i)
         FROM generate_series(1, $4) AS i`,
      [clerkId, performance.id, end, OTHER_AUDIT_ROWS],
    );
    // The operators' refunds, one a sale, a minute after it: every other sale refunded whole (its
    // cancellation by the clerk), the others in part (a `purchase_refunds` row by the clerk).
    await db.query(
      `UPDATE purchases SET status = 'CANCELED', canceled_at = created_at + interval '1 minute', canceled_by_id = $1
        WHERE sale_channel = 'BOX_OFFICE' AND extract(minute FROM created_at)::int % 20 = 15`,
      [clerkId],
    );
    await db.query(
      `INSERT INTO purchase_refunds (id, purchase_id, seat_ids, amount, currency, status, refunded_at, refunded_by_id)
       SELECT gen_random_uuid(), id, ARRAY[1], 500, 'EUR', 'REFUNDED', created_at + interval '1 minute', $1
         FROM purchases WHERE sale_channel = 'BOX_OFFICE' AND status = 'PAID'`,
      [clerkId],
    );
    await db.query('ANALYZE purchases');
    await db.query('ANALYZE admin_audit_log');
    await db.query('ANALYZE purchase_refunds');

    // The statements the cash-up sends, captured as they go to PostgreSQL.
    const spy = vi.spyOn(PostgresQueryRunner.prototype, 'query');
    const rows = await new CashUpRepository(db).read(
      { from: new Date(end.getTime() - 3_600_000), to: end, clerkId: null, performanceId: null },
      [],
    );
    for (const [sql, parameters] of spy.mock.calls as [string, unknown[]][]) {
      if (/FROM (purchases p|purchase_refunds r)/.test(sql)) statements.push({ sql, parameters });
    }
    spy.mockRestore();
    expect(rows.sales).toHaveLength(6);
    expect(rows.refunds).toHaveLength(6);
    expect(statements).toHaveLength(2);
  });
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(env.DATABASE_URL);
  });

  /** The plan of statement `index`, run and rolled back, after `before` in the same transaction. */
  async function plan(index: number, before?: (manager: EntityManager) => Promise<unknown>): Promise<PlanNode> {
    const runner = db.createQueryRunner();
    await runner.startTransaction();
    try {
      await before?.(runner.manager);
      const { sql, parameters } = statements[index];
      const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, parameters);
      return (row['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  }

  it("reads the range's box office sales through purchases_box_office_created, no other purchase", async () => {
    const root = await plan(0);
    expect(
      nodes(root).map((node) => node['Index Name']),
      JSON.stringify(root),
    ).toContain('purchases_box_office_created');
    expect(rowsRead(root, 'purchases')).toBeLessThanOrEqual(10);
  });

  it("reads the range's refunds through the indexes of RefundOperatorsIndexes, no other refund or purchase", async () => {
    const root = await plan(1);
    const indexes = nodes(root).map((node) => node['Index Name']);
    expect(indexes, JSON.stringify(root)).toContain('purchase_refunds_by_operator_refunded');
    expect(indexes, JSON.stringify(root)).toContain('purchases_by_operator_canceled');
    expect(rowsRead(root, 'purchase_refunds')).toBeLessThanOrEqual(10);
    expect(rowsRead(root, 'purchases')).toBeLessThanOrEqual(10);
  });

  it('read the tables whole before these indexes', async () => {
    const sales = await plan(0, (manager) => manager.query('DROP INDEX purchases_box_office_created'));
    expect(rowsRead(sales, 'purchases')).toBeGreaterThanOrEqual(BOX_OFFICE_SALES);
    const refunds = await plan(1, (manager) =>
      manager.query('DROP INDEX purchase_refunds_by_operator_refunded, purchases_by_operator_canceled'),
    );
    expect(rowsRead(refunds, 'purchases')).toBeGreaterThanOrEqual(BOX_OFFICE_SALES);
  });
});
