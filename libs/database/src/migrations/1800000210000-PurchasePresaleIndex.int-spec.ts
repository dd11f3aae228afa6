import { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { explainAnalyzed, MigratedDatabase, openMigratedDatabase, planNodes, PlanNode, rowsRead } from '@app/testing';
import { PurchaseRepository } from '../repositories/purchase.repository';

/** Purchases of the general on-sale and of another presale: what a presale's list must not read. */
const OTHER_PURCHASES = 20_000;
/** The presale asked for, and its sales (a page and a bit: the list reads one page). */
const PRESALE = '41';
const PRESALE_SALES = 30;

/**
 * The operators' purchase list by presale (PurchaseRepository.pageForOperators with `presaleId`),
 * read by EXPLAIN ANALYZE (rolled back) beside OTHER_PURCHASES other purchases: through
 * purchases_presale_created it reads one page of the presale's sales, newest first; without it,
 * the whole table.
 */
describe('migration PurchasePresaleIndex: a presale list reads only its page (real PostgreSQL)', () => {
  let { db, close } = {} as MigratedDatabase;
  let search: { sql: string; parameters: unknown[] };

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    const [{ id: buyerId }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash)
       VALUES ('carol@example.test', 'carol@example.test', 'Carol', 'not-a-hash') RETURNING id`,
    );
    const [event] = await db.query(
      `INSERT INTO events (title, venue, currency) VALUES ('Show', 'Hall', 'KRW') RETURNING id`,
    );
    const [performance] = await db.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, '2030-03-01T10:00:00Z', now(), 0) RETURNING id`,
      [event.id],
    );
    const insert = (count: number, presaleId: string | null) =>
      db.query(
        `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, charge_id, status,
                                created_at, sale_channel, presale_id)
         SELECT gen_random_uuid(), gen_random_uuid(), $1, $2, 1000, 'KRW', 'ch', 'PAID', now() - make_interval(secs => i),
                'ONLINE', $4::bigint
         FROM generate_series(1, $3) AS i`,
        [buyerId, performance.id, count, presaleId],
      );
    // The general on-sale's purchases, another presale's, and the presale asked for.
    await insert((OTHER_PURCHASES * 3) / 4, null);
    await insert(OTHER_PURCHASES / 4, '42');
    await insert(PRESALE_SALES, PRESALE);
    await db.query('ANALYZE purchases');

    // The statement the list sends, captured as it goes to PostgreSQL.
    const repository = new PurchaseRepository(db);
    const spy = vi.spyOn(db, 'query');
    const found = await repository.pageForOperators({ presaleId: PRESALE }, null, 21);
    expect(found).toHaveLength(21);
    expect(new Set(found.map((purchase) => purchase.presaleId))).toEqual(new Set([PRESALE]));
    const [sql, parameters] = spy.mock.calls[0] as [string, unknown[]];
    spy.mockRestore();
    search = { sql, parameters };
  });
  afterAll(() => close?.());

  /** The list's plan, run and rolled back, after `before` in the same transaction. */
  const plan = (before?: (manager: EntityManager) => Promise<unknown>): Promise<PlanNode> =>
    explainAnalyzed(db, search.sql, { parameters: search.parameters, before });

  it("reads the presale's newest page through its index, no other purchase", async () => {
    const root = await plan();
    expect(
      planNodes(root).map((node) => node['Index Name']),
      JSON.stringify(root),
    ).toContain('purchases_presale_created');
    expect(
      planNodes(root).some((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'purchases'),
    ).toBe(false);
    expect(rowsRead(root, 'purchases')).toBeLessThanOrEqual(PRESALE_SALES);
  });

  it('read the whole table before this index', async () => {
    const root = await plan((manager) => manager.query('DROP INDEX purchases_presale_created'));
    expect(rowsRead(root, 'purchases')).toBeGreaterThanOrEqual(OTHER_PURCHASES);
  });
});
