import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Money in one unit end to end: an integer count of the currency's minor unit (its ISO 4217
 * exponent), travelling with the event's currency.
 *
 * - `events.currency`: the ISO 4217 code of the event's prices. Existing events get `KRW`, the
 *   currency every price was entered in so far (the default of `DEFAULT_CURRENCY`).
 * - `purchases.amount`: `numeric(14,2)` → `bigint`. Seat prices were always stored as integers
 *   (the API documented them in the smallest currency unit); the old code called that whole
 *   units and stored a purchase's amount as the sum of its seat prices, e.g. 1050.00 for one
 *   seat priced 1050. That sum is exactly the amount in minor units, so the value is kept as
 *   it is (×1), only its type changes. An amount with a fraction cannot come from integer seat
 *   prices; rather than round money, the migration stops and names such purchases.
 * - `purchases.currency`: the currency the purchase was charged in, copied from its event.
 * - Purchase-completed messages in the outbox get the purchase's `currency`, so the ones not
 *   yet relayed still match the message contract.
 *
 * `down` restores the old types and drops the currency columns and message fields; the amounts
 * keep their value. Events in another currency than KRW lose that information.
 */
export class MoneyInMinorUnits1795630000000 implements MigrationInterface {
  name = 'MoneyInMinorUnits1795630000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const fractional: { id: string; amount: string }[] = await queryRunner.query(
      `SELECT id, amount FROM purchases WHERE amount <> trunc(amount) ORDER BY id LIMIT 10`,
    );
    if (fractional.length > 0) {
      throw new Error(
        `purchases with a fractional amount cannot be converted to minor units without rounding: ${fractional
          .map((p) => `${p.id} (${p.amount})`)
          .join(', ')}`,
      );
    }
    await queryRunner.query(`ALTER TABLE "events" ADD "currency" character(3) NOT NULL DEFAULT 'KRW'`);
    await queryRunner.query(`ALTER TABLE "events" ALTER COLUMN "currency" DROP DEFAULT`);
    await queryRunner.query(`ALTER TABLE "purchases" ALTER COLUMN "amount" TYPE bigint USING "amount"::bigint`);
    await queryRunner.query(`ALTER TABLE "purchases" ADD "currency" character(3)`);
    await queryRunner.query(
      `UPDATE "purchases" p SET "currency" = e."currency"
         FROM "performances" pf JOIN "events" e ON e."id" = pf."event_id"
        WHERE pf."id" = p."performance_id"`,
    );
    await queryRunner.query(`ALTER TABLE "purchases" ALTER COLUMN "currency" SET NOT NULL`);
    await queryRunner.query(
      `UPDATE "outbox" o SET "payload" = o."payload" || jsonb_build_object('currency', p."currency")
         FROM "purchases" p
        WHERE o."routing_key" = 'purchase.completed' AND o."payload"->>'purchaseId' = p."id"::text`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "outbox" SET "payload" = "payload" - 'currency' WHERE "routing_key" = 'purchase.completed'`,
    );
    await queryRunner.query(`ALTER TABLE "purchases" DROP COLUMN "currency"`);
    await queryRunner.query(`ALTER TABLE "purchases" ALTER COLUMN "amount" TYPE numeric(14,2)`);
    await queryRunner.query(`ALTER TABLE "events" DROP COLUMN "currency"`);
  }
}
