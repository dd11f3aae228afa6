import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The ALTER of `tickets` takes ACCESS EXCLUSIVE: while it waits behind a long transaction, every
 * flush, check-in and door list queues behind it.
 */
const TICKETS: LockedTables = {
  migration: 'PartialRefunds1799640000000',
  tables: '"tickets"',
  stalls: 'every flush of purchases and every check-in',
  holders: 'it',
};

/**
 * Partial refunds (an operator refunds some seats of a purchase, which stays PAID with the others):
 *
 * - `purchase_refunds`: one row a partial refund, keyed by the refund's id (chosen by the api, carried
 *   by its Redis stream entry, so the api's write and the flush's replay are one row): the seats, the
 *   amount given back (minor units of `currency`, the seats' prices summed), the charge, and where
 *   the money stands: `OWED` until the gateway refunded it (`batch`'s payment reconciler refunds what
 *   the api did not), then `REFUNDED`. `touched_at` orders and claims the owed ones, as on
 *   `payment_attempts`.
 * - `tickets.refund_id`: the partial refund that canceled the ticket; NULL for every ticket a partial
 *   refund did not cancel (all of them until now: a nullable column without a default changes only
 *   the catalog). A purchase's seats are its tickets without one; those with one are its refunded seats.
 */
export class PartialRefunds1799640000000 implements MigrationInterface {
  name = 'PartialRefunds1799640000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "purchase_refunds" (
        "id" uuid PRIMARY KEY,
        "purchase_id" uuid NOT NULL,
        "seat_ids" integer[] NOT NULL CHECK (cardinality("seat_ids") > 0),
        "kept_seat_ids" integer[] NOT NULL DEFAULT '{}',
        "amount" bigint NOT NULL CHECK ("amount" >= 0),
        "currency" char(3) NOT NULL,
        "charge_id" varchar,
        "status" text NOT NULL CHECK ("status" IN ('OWED', 'REFUNDED')),
        "refunded_at" timestamptz NOT NULL,
        "resolved_at" timestamptz,
        "touched_at" timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await queryRunner.query(`CREATE INDEX "purchase_refunds_purchase" ON "purchase_refunds" ("purchase_id")`);
    await queryRunner.query(
      `CREATE INDEX "purchase_refunds_owed" ON "purchase_refunds" ("touched_at") WHERE "status" = 'OWED'`,
    );
    await lockingBriefly(queryRunner, TICKETS, async () => {
      await queryRunner.query(`ALTER TABLE "tickets" ADD "refund_id" uuid`);
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // A partially refunded purchase reads afterwards as holding its refunded seats' canceled tickets.
    await lockingBriefly(queryRunner, TICKETS, async () => {
      await queryRunner.query(`ALTER TABLE "tickets" DROP COLUMN "refund_id"`);
    });
    await queryRunner.query(`DROP TABLE "purchase_refunds"`);
  }
}
