import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `users_staff`: the staff accounts in (created_at, id) order, for the admins' list of door staff
 * (`GET /admin/staff`): a partial index, so the list reads the few staff rows, not every buyer.
 */
export class UsersStaffIndex1798600000000 implements MigrationInterface {
  name = 'UsersStaffIndex1798600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "users_staff" ON "users" ("created_at", "id") WHERE "role" = 'STAFF'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "users_staff"`);
  }
}
