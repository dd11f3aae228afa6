import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/**
 * The ALTERs take ACCESS EXCLUSIVE on `purchases` and `purchase_refunds`: while they wait behind a
 * long transaction, every purchase, cancel and refund queues behind them.
 */
const REFUND_TABLES: LockedTables = {
  migration: 'RefundOperators1800000090000',
  tables: '"purchases" or "purchase_refunds"',
  stalls: 'every purchase, cancel and refund',
  holders: 'them',
};

/**
 * Who made an operator's refund, recorded with the refund itself: `purchase_refunds.refunded_by_id`
 * (a partial refund) and `purchases.canceled_by_id` (an operator's cancel, the whole refund), both
 * nullable uuids of the operator's account (no foreign key: an account deleted since leaves its
 * refunds counted, as its audit rows are). The box office cash-up counts window refunds from them
 * instead of the `purchase.refund` audit rows, which the api writes after the refund (faults trial
 * 2026-12-07 F1: an api killed between the two left the cash-up short of refunds made).
 *
 * Backfilled from those audit rows: a partial refund by its purchase (`subject_id`) and its own id
 * (`details.refundId`) or, for rows written before they carried it, its seat ids (a seat is refunded
 * once); an operator's whole refund of a CANCELED box office sale by its purchase and a row that is
 * not a partial refund's. Refunds without an audit row (their api died before writing it) stay NULL
 * (they were not counted before either). The wait for the locks is bounded by MIGRATION_LOCK_TIMEOUT;
 * a migration that runs out of it rolls back and says to retry.
 */
export class RefundOperators1800000090000 implements MigrationInterface {
  name = 'RefundOperators1800000090000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, REFUND_TABLES, async () => {
      await queryRunner.query(`ALTER TABLE "purchase_refunds" ADD "refunded_by_id" uuid`);
      await queryRunner.query(`ALTER TABLE "purchases" ADD "canceled_by_id" uuid`);
    });
    await queryRunner.query(
      `UPDATE purchase_refunds r SET refunded_by_id = a.actor_id
         FROM admin_audit_log a
        WHERE a.action = 'purchase.refund' AND a.subject_id = r.purchase_id::text
          AND (a.details->>'refundId' = r.id::text
               OR (a.details->>'refundId' IS NULL
                   AND ARRAY(SELECT s::int FROM jsonb_array_elements_text(a.details->'seatIds') s ORDER BY 1)
                       = ARRAY(SELECT s FROM unnest(r.seat_ids) s ORDER BY 1)))`,
    );
    // A whole refund's row: not a partial one's (`partial` true, or seats a partial refund row has).
    await queryRunner.query(
      `UPDATE purchases p SET canceled_by_id = a.actor_id
         FROM admin_audit_log a
        WHERE p.status = 'CANCELED' AND p.sale_channel = 'BOX_OFFICE' AND p.payment_method IS NOT NULL
          AND a.action = 'purchase.refund' AND a.subject_id = p.id::text
          AND a.details->>'partial' IS DISTINCT FROM 'true' AND a.details->>'refundId' IS NULL
          AND NOT EXISTS (SELECT 1 FROM purchase_refunds r WHERE r.purchase_id = p.id
                             AND ARRAY(SELECT s::int FROM jsonb_array_elements_text(a.details->'seatIds') s ORDER BY 1)
                                 = ARRAY(SELECT s FROM unnest(r.seat_ids) s ORDER BY 1))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, REFUND_TABLES, async () => {
      await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "canceled_by_id"`);
      await queryRunner.query(`ALTER TABLE "purchase_refunds" DROP COLUMN "refunded_by_id"`);
    });
  }
}
