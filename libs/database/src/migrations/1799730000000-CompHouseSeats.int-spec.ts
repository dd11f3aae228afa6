import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectGivesUpOnLockedTable,
  insertAccountAndPerformance,
  MigratedDatabase,
  openDatabaseBefore,
} from '@app/testing';
import { runMigrations } from '../database-bootstrap';
import { MIGRATIONS } from '../migrations';
import { CompHouseSeats1799730000000 } from './1799730000000-CompHouseSeats';

const COMP = '00000000-0000-4000-8000-000000000001';
const OPERATOR = '00000000-0000-4000-8000-0000000000a1';

/**
 * Migration CompHouseSeats on real PostgreSQL: its bounded lock wait on seats and on performances
 * (its foreign keys), a house seat blocked before the upgrade lent to a comp and given back to its
 * block, the table's keys, and down.
 */
describe('migration CompHouseSeats (real PostgreSQL)', () => {
  let database: MigratedDatabase;
  let db: DataSource;
  let performanceId: number;
  let seatIds: number[];

  beforeAll(async () => {
    database = await openDatabaseBefore(MIGRATIONS, CompHouseSeats1799730000000, async (old) => {
      ({ performanceId } = await insertAccountAndPerformance(old));
      const seats: { id: number }[] = await old.query(
        `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price)
         SELECT $1, n, 'Floor', 1, '1', n, 'R', 1000 FROM generate_series(1, 2) AS n RETURNING id`,
        [performanceId],
      );
      seatIds = seats.map((seat) => seat.id).sort((a, b) => a - b);
      // A house seat blocked before the upgrade.
      await old.query(
        `INSERT INTO seat_blocks (seat_id, performance_id, reason, blocked_by, blocked_by_email)
         VALUES ($1, $2, 'house seat', $3, 'ops@example.test')`,
        [seatIds[0], performanceId, OPERATOR],
      );
    });
    ({ db } = database);
  });
  afterAll(() => database?.close());

  const present = (on: DataSource) => on.query(`SELECT to_regclass('comp_house_seats') IS NOT NULL AS present`);
  const lend = (seatId: number, onPerformance = performanceId) =>
    db.query(
      `INSERT INTO comp_house_seats (seat_id, performance_id, purchase_id, reason, blocked_by, blocked_by_email, blocked_at)
       VALUES ($1, $2, $3, 'house seat', $4, 'ops@example.test', now())`,
      [seatId, onPerformance, COMP, OPERATOR],
    );

  it.each([
    { table: 'seats', holdWith: () => `UPDATE seats SET price = price WHERE id = ${seatIds[1]}` },
    {
      table: 'performances',
      holdWith: () => `UPDATE performances SET total_seats = total_seats WHERE id = ${performanceId}`,
    },
  ])(
    'gives up within its lock_timeout while another transaction writes $table, changes nothing, and says to retry',
    async ({ table, holdWith }) => {
      await expectGivesUpOnLockedTable(database.env, db, {
        table,
        migration: CompHouseSeats1799730000000,
        holdWith: holdWith(),
        unchanged: async (other) => expect(await present(other)).toEqual([{ present: false }]),
      });
    },
    60_000,
  );

  it('lends a house seat blocked before the upgrade to a comp and gives it back to its block; refuses what its keys refuse', async () => {
    expect(await runMigrations(db)).toContain(CompHouseSeats1799730000000.name);
    // As a comp with includeBlocked moves it (the comp's purchase not flushed yet: no key to purchases).
    await db.transaction(async (manager) => {
      await manager.query(
        `WITH moved AS (DELETE FROM seat_blocks WHERE seat_id = $1 RETURNING *)
         INSERT INTO comp_house_seats (seat_id, performance_id, purchase_id, reason, blocked_by, blocked_by_email, blocked_at)
         SELECT seat_id, performance_id, $2, reason, blocked_by, blocked_by_email, blocked_at FROM moved`,
        [seatIds[0], COMP],
      );
    });
    expect(await db.query(`SELECT seat_id, purchase_id, reason, blocked_by FROM comp_house_seats`)).toEqual([
      { seat_id: seatIds[0], purchase_id: COMP, reason: 'house seat', blocked_by: OPERATOR },
    ]);
    expect(await db.query(`SELECT seat_id FROM seat_blocks`)).toEqual([]);
    // One comp a seat; only seats and performances that exist.
    await expect(lend(seatIds[0])).rejects.toMatchObject({ code: '23505' });
    await expect(lend(2_000_000_000)).rejects.toMatchObject({ code: '23503' });
    await expect(lend(seatIds[1], 2_000_000_000)).rejects.toMatchObject({ code: '23503' });
    // The comp's cancellation finds its seats by the purchase index, and puts them back in their block.
    expect(await db.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'comp_house_seats_purchase'`)).toEqual([
      { indexdef: expect.stringContaining('(purchase_id)') },
    ]);
    await db.query(
      `WITH back AS (DELETE FROM comp_house_seats WHERE purchase_id = $1 RETURNING *)
       INSERT INTO seat_blocks (seat_id, performance_id, reason, blocked_by, blocked_by_email, blocked_at)
       SELECT seat_id, performance_id, reason, blocked_by, blocked_by_email, blocked_at FROM back`,
      [COMP],
    );
    expect(await db.query(`SELECT seat_id, reason FROM seat_blocks`)).toEqual([
      { seat_id: seatIds[0], reason: 'house seat' },
    ]);
    // A lent seat goes with its seat.
    await lend(seatIds[1]);
    await db.query(`DELETE FROM seats WHERE id = $1`, [seatIds[1]]);
    expect(await db.query(`SELECT seat_id FROM comp_house_seats`)).toEqual([]);
  });

  it('goes back down: the table gone, the blocks kept', async () => {
    await db.undoLastMigration({ transaction: 'each' });
    expect(await present(db)).toEqual([{ present: false }]);
    expect(await db.query(`SELECT seat_id FROM seat_blocks`)).toEqual([{ seat_id: seatIds[0] }]);
  });
});
