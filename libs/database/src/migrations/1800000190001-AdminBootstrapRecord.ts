import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The foreign key's lock on `users` (signups and changes of accounts queue behind a waiting CREATE). */
const USERS: LockedTables = {
  migration: 'AdminBootstrapRecord1800000190001',
  tables: '"users"',
  stalls: 'every signup and change of an account',
  holders: '"users"',
};

/**
 * `admin_bootstrap`: the account the start's admin bootstrap (ADMIN_EMAIL/ADMIN_PASSWORD) made or
 * promoted, and the ADMIN_EMAIL (its key, as `users.email_key`) it did so for; one row, made here
 * empty (`user_id` null), which the bootstraps of replicas starting together lock in turn. Without
 * it a bootstrap admin that changed its address (`POST /auth/email`) was not found at the next
 * start, which then made a second admin of ADMIN_EMAIL, or promoted whoever had signed up with the
 * address it left. `user_id` is set null should the account go.
 *
 * An existing deployment's bootstrap admin is recorded at its first start after the upgrade (an
 * account of ADMIN_EMAIL found then is taken as it). A new table only: the foreign key takes SHARE
 * ROW EXCLUSIVE on `users` for the CREATE, which waits for every open transaction that changed a
 * row of `users` (and, while it waits, holds off new changes): that wait is bounded (lockingBriefly).
 */
export class AdminBootstrapRecord1800000190001 implements MigrationInterface {
  name = 'AdminBootstrapRecord1800000190001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, USERS, () =>
      queryRunner.query(
        `CREATE TABLE "admin_bootstrap" (
         "singleton" boolean NOT NULL DEFAULT true,
         "user_id" uuid,
         "email_key" text,
         "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
         CONSTRAINT "admin_bootstrap_pkey" PRIMARY KEY ("singleton"),
         CONSTRAINT "admin_bootstrap_singleton_check" CHECK ("singleton"),
         CONSTRAINT "admin_bootstrap_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL
       )`,
      ),
    );
    await queryRunner.query(`INSERT INTO "admin_bootstrap" ("singleton") VALUES (true)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "admin_bootstrap"`);
  }
}
