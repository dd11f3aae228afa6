import { MigrationInterface, QueryRunner } from 'typeorm';

/** The trigger function's body before this migration (EmailVerification1799300000000), for `down`. */
const BEFORE = `BEGIN
           NEW.email_verified_at := NULL;
           DELETE FROM email_verification_tokens WHERE user_id = NEW.id;
           -- A reset e-mailed to the old address must not take over the account at its new one.
           DELETE FROM password_reset_tokens WHERE user_id = NEW.id;
           RETURN NEW;
         END`;

/**
 * Whatever changes an account's e-mail address (the confirm of `POST /auth/email/confirm`, an
 * operator's `UPDATE users` by hand, a future route) also voids the account's pending changes of
 * address (`email_change_tokens`): `users_email_change_unverifies`, which already unverified the
 * account and voided its verification and reset tokens, deletes them too. Before, a change token
 * asked for before an operator set another address by hand still moved the account afterwards (an
 * intruder's pending change outliving the owner's recovery through support). In the trigger rather
 * than in the application: a change by SQL passes no application code, and the trigger runs in the
 * change's own transaction whichever path makes it. The confirm's own change finds nothing left to
 * void (its consume deleted the account's change tokens first).
 *
 * CREATE OR REPLACE FUNCTION: no lock on `users` (the trigger itself stays as it is); a change of
 * address running meanwhile uses the function as it was when its statement began.
 */
export class AddressChangeVoidsEmailChanges1800000190000 implements MigrationInterface {
  name = 'AddressChangeVoidsEmailChanges1800000190000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE OR REPLACE FUNCTION "users_email_change_unverifies"() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           NEW.email_verified_at := NULL;
           DELETE FROM email_verification_tokens WHERE user_id = NEW.id;
           -- A reset e-mailed to the old address must not take over the account at its new one.
           DELETE FROM password_reset_tokens WHERE user_id = NEW.id;
           -- Nor may a change asked for before this one move the account afterwards.
           DELETE FROM email_change_tokens WHERE user_id = NEW.id;
           RETURN NEW;
         END $$`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE OR REPLACE FUNCTION "users_email_change_unverifies"() RETURNS trigger LANGUAGE plpgsql AS $$
         ${BEFORE} $$`,
    );
  }
}
