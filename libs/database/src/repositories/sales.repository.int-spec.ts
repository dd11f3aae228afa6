import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainAnalyzed, insertUser, MigratedDatabase, openMigratedDatabase, rowsRead, scansOf } from '@app/testing';
import { PERFORMANCE_PURCHASES_SQL, SalesRepository } from './sales.repository';

/** Performances of the database, each with SEATS seats sold in purchases of 4: 200,000 tickets. */
const PERFORMANCES = 100;
const SEATS = 2_000;

/**
 * The sales report's purchases query (PERFORMANCE_PURCHASES_SQL) was a plain LEFT JOIN of
 * purchases and tickets: planned as a hash join over a sequential scan of every performance's
 * tickets. Read by EXPLAIN ANALYZE on 200,000 tickets over 100 performances: the query reads this
 * performance's tickets only (a lateral probe per purchase), where the plain join read them all;
 * and it returns each checked-in seat's door (the scanning account), which the report counts per door.
 */
describe('SalesRepository.performanceSales on 200,000 tickets (real PostgreSQL)', () => {
  let { db, close } = {} as MigratedDatabase;
  let performanceId: number;
  let gate: string;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    const buyer = await insertUser(db, 'buyer@example.test', 'Buyer');
    gate = await insertUser(db, 'gate-1@example.test', 'Gate 1');
    const [event] = await db.query(
      `INSERT INTO events (title, venue, currency) VALUES ('Tour', 'Arena', 'EUR') RETURNING id`,
    );
    const performances: { id: number }[] = await db.query(
      `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats)
       SELECT $1, '2030-03-01T19:00:00Z'::timestamptz + n * interval '1 day', now(), $3
         FROM generate_series(1, $2::int) n RETURNING id`,
      [event.id, PERFORMANCES, SEATS],
    );
    await db.query(
      `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price)
       SELECT p, n, 'Floor', 1 + (n - 1) / 50, (1 + (n - 1) / 50)::text, 1 + (n - 1) % 50, 'A', 5000
         FROM unnest($1::int[]) p CROSS JOIN generate_series(1, $2::int) n`,
      [performances.map((row) => row.id), SEATS],
    );
    // Purchases of 4 consecutive seats (by position), 500 a performance.
    await db.query(
      `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, charge_id, status, created_at)
       SELECT (lpad(to_hex(p), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, gen_random_uuid(),
              $1, p, 20000, 'EUR', 'ch', 'PAID', now()
         FROM unnest($2::int[]) p CROSS JOIN generate_series(0, $3::int / 4 - 1) k`,
      [buyer, performances.map((row) => row.id), SEATS],
    );
    await db.query(
      `INSERT INTO tickets (purchase_id, performance_id, seat_id, status, price)
       SELECT (lpad(to_hex(s.performance_id), 8, '0') || '-0000-4000-8000-' || lpad(to_hex((s.position - 1) / 4), 12, '0'))::uuid,
              s.performance_id, s.id, 'ACTIVE', 5000
         FROM seats s`,
    );
    performanceId = performances[PERFORMANCES / 2].id;
    // Gate 1 admitted the first 3 tickets of this performance.
    await db.query(
      `UPDATE tickets SET checked_in_at = now(), checked_in_by = $2
        WHERE id IN (SELECT id FROM tickets WHERE performance_id = $1 ORDER BY seat_id LIMIT 3)`,
      [performanceId, gate],
    );
    await db.query('ANALYZE');
  }, 300_000);
  afterAll(() => close?.());

  it('holds 200,000 tickets', async () => {
    const [{ count }] = await db.query('SELECT count(*)::int AS count FROM tickets');
    expect(count).toBe(PERFORMANCES * SEATS);
  });

  it("reads this performance's tickets only, through tickets_purchase_seat_key, where the plain join read every performance's", async () => {
    const lateral = await explainAnalyzed(db, PERFORMANCE_PURCHASES_SQL, { parameters: [performanceId] });
    for (const scan of scansOf(lateral, 'tickets')) {
      expect(scan['Node Type'], JSON.stringify(scan)).not.toBe('Seq Scan');
    }
    expect(rowsRead(lateral, 'tickets')).toBeLessThanOrEqual(SEATS);
    // The query as it was: one join, planned over all 200,000 tickets.
    const plainJoin = PERFORMANCE_PURCHASES_SQL.replace(
      /LEFT JOIN LATERAL \(SELECT \* FROM tickets t WHERE t\.purchase_id = p\.id AND t\.refund_id IS NULL OFFSET 0\) t ON true/,
      'LEFT JOIN tickets t ON t.purchase_id = p.id AND t.refund_id IS NULL',
    );
    expect(plainJoin).not.toBe(PERFORMANCE_PURCHASES_SQL);
    const joined = await explainAnalyzed(db, plainJoin, { parameters: [performanceId] });
    expect(rowsRead(joined, 'tickets')).toBeGreaterThan(SEATS * 10);
  });

  it('gives each checked-in seat its door: the scanning account, its e-mail and name, and when', async () => {
    const rows = await new SalesRepository(db).performanceSales(performanceId);
    const purchases = rows?.purchases ?? [];
    expect(purchases).toHaveLength(SEATS / 4);
    expect(purchases.reduce((sum, purchase) => sum + purchase.seatIds.length, 0)).toBe(SEATS);
    const checkIns = purchases.flatMap((purchase) => purchase.checkIns);
    expect(checkIns).toHaveLength(3);
    for (const checkIn of checkIns) {
      expect(checkIn).toMatchObject({ accountId: gate, email: 'gate-1@example.test', name: 'Gate 1' });
      expect(checkIn.checkedInAt).toBeInstanceOf(Date);
    }
    for (const purchase of purchases) {
      expect(purchase.checkIns.map((checkIn) => checkIn.seatId)).toEqual(purchase.checkedInSeatIds);
    }
  });
});
