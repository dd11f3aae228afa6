import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tickets at the door: when a ticket was checked in and by whom, and the STAFF role of the people
 * who scan them. `checked_in_at` is set once, by one conditional UPDATE, so two doors scanning
 * the same code admit one person.
 */
export class TicketCheckIn1796200000000 implements MigrationInterface {
  name = 'TicketCheckIn1796200000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // PostgreSQL ≥ 12 adds an enum value inside a transaction; it is not used in this one.
    await queryRunner.query(`ALTER TYPE "public"."user_role" ADD VALUE IF NOT EXISTS 'STAFF'`);
    await queryRunner.query(
      `ALTER TABLE "tickets" ADD "checked_in_at" TIMESTAMP WITH TIME ZONE, ADD "checked_in_by" uuid`,
    );
    await queryRunner.query(
      `ALTER TABLE "tickets" ADD CONSTRAINT "tickets_checked_in_by_fk" FOREIGN KEY ("checked_in_by") REFERENCES "users"("id") ON DELETE SET NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tickets" DROP CONSTRAINT "tickets_checked_in_by_fk"`);
    await queryRunner.query(`ALTER TABLE "tickets" DROP COLUMN "checked_in_by", DROP COLUMN "checked_in_at"`);
    // An enum value cannot be dropped: the type is made again without it, staff become users.
    await queryRunner.query(`UPDATE "users" SET "role" = 'USER' WHERE "role" = 'STAFF'`);
    await queryRunner.query(`ALTER TABLE "users" ALTER COLUMN "role" DROP DEFAULT`);
    await queryRunner.query(`ALTER TYPE "public"."user_role" RENAME TO "user_role_old"`);
    await queryRunner.query(`CREATE TYPE "public"."user_role" AS ENUM('USER', 'ADMIN')`);
    await queryRunner.query(
      `ALTER TABLE "users" ALTER COLUMN "role" TYPE "public"."user_role" USING "role"::text::"public"."user_role"`,
    );
    await queryRunner.query(`ALTER TABLE "users" ALTER COLUMN "role" SET DEFAULT 'USER'`);
    await queryRunner.query(`DROP TYPE "public"."user_role_old"`);
  }
}
