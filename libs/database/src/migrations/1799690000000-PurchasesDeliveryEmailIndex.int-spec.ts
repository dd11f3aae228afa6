import { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { explainAnalyzed, MigratedDatabase, openMigratedDatabase, planNodes, PlanNode, rowsRead } from '@app/testing';
import { PurchaseRepository } from '../repositories/purchase.repository';

/** Purchases of other buyers and box office sales to other addresses: what a search must not read. */
const OTHER_PURCHASES = 20_000;
/** The other buyers, three quarters of OTHER_PURCHASES bought online among them. */
const OTHER_BUYERS = 250;

/**
 * The admin purchase search by e-mail (PurchaseRepository.pageForOperators), which matches the
 * buyer's account or a box office sale's delivery address, read by EXPLAIN ANALYZE (rolled back)
 * on OTHER_PURCHASES purchases of others: through purchases_delivery_email and
 * purchases_user_created it reads only the matching rows; without the new index it read the table.
 */
describe('migration PurchasesDeliveryEmailIndex: the search by e-mail reads only its matches (real PostgreSQL)', () => {
  let { db, close } = {} as MigratedDatabase;
  let search: { sql: string; parameters: unknown[] };

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    const [{ id: buyerId }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash)
       VALUES ('carol@example.test', 'carol@example.test', 'Carol', 'not-a-hash') RETURNING id`,
    );
    const [{ id: windowId }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash, role)
       VALUES ('window@example.test', 'window@example.test', 'Window', 'not-a-hash', 'STAFF') RETURNING id`,
    );
    const [event] = await db.query(
      `INSERT INTO events (title, venue, currency) VALUES ('Show', 'Hall', 'KRW') RETURNING id`,
    );
    const [performance] = await db.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       VALUES ($1, '2030-03-01T10:00:00Z', now(), 0) RETURNING id`,
      [event.id],
    );
    const insert = (userId: string, count: number, deliveryEmail: string | null, spread: boolean) =>
      db.query(
        `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, charge_id, status,
                                created_at, sale_channel, payment_method, delivery_email)
         SELECT gen_random_uuid(), gen_random_uuid(), $1, $2, 1000, 'KRW', 'ch', 'PAID', now() - make_interval(secs => i),
                CASE WHEN $4::text IS NULL AND NOT $5 THEN 'ONLINE' ELSE 'BOX_OFFICE' END,
                CASE WHEN $4::text IS NULL AND NOT $5 THEN NULL ELSE 'CASH' END,
                CASE WHEN $5 THEN 'walk-up-' || i || '@example.test' ELSE $4 END
         FROM generate_series(1, $3) AS i`,
        [userId, performance.id, count, deliveryEmail, spread],
      );
    // Other buyers' online purchases, the window's sales to many other addresses; Carol's own
    // purchases and two sales delivered to her.
    const others: { id: string }[] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash)
       SELECT 'buyer-' || i || '@example.test', 'buyer-' || i || '@example.test', 'Buyer', 'not-a-hash'
         FROM generate_series(1, $1) AS i
       RETURNING id`,
      [OTHER_BUYERS],
    );
    for (const other of others) await insert(other.id, (OTHER_PURCHASES * 3) / 4 / OTHER_BUYERS, null, false);
    await insert(windowId, OTHER_PURCHASES / 4, null, true);
    await insert(buyerId, 3, null, false);
    await insert(windowId, 2, 'carol@example.test', false);
    await db.query('ANALYZE purchases');
    await db.query('ANALYZE users');

    // The statement the search sends, captured as it goes to PostgreSQL.
    const repository = new PurchaseRepository(db);
    const spy = vi.spyOn(db, 'query');
    const found = await repository.pageForOperators({ email: 'carol@example.test' }, null, 20);
    expect(found).toHaveLength(5);
    const [sql, parameters] = spy.mock.calls[0] as [string, unknown[]];
    spy.mockRestore();
    search = { sql, parameters };
  });
  afterAll(() => close?.());

  /** The search's plan, run and rolled back, after `before` in the same transaction. */
  const plan = (before?: (manager: EntityManager) => Promise<unknown>): Promise<PlanNode> =>
    explainAnalyzed(db, search.sql, { parameters: search.parameters, before });

  it('reads the matches through both indexes, no other purchase', async () => {
    const root = await plan();
    const indexes = planNodes(root).map((node) => node['Index Name']);
    expect(indexes, JSON.stringify(root)).toContain('purchases_delivery_email');
    expect(indexes, JSON.stringify(root)).toContain('purchases_user_created');
    expect(
      planNodes(root).some((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'purchases'),
    ).toBe(false);
    expect(rowsRead(root, 'purchases')).toBeLessThanOrEqual(10);
  });

  it('read the whole table before this index', async () => {
    const root = await plan((manager) => manager.query('DROP INDEX purchases_delivery_email'));
    expect(rowsRead(root, 'purchases')).toBeGreaterThanOrEqual(OTHER_PURCHASES);
  });
});
