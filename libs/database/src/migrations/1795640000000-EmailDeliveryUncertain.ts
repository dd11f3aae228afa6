import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Marks deliveries whose outcome is unknown: the whole message reached the SMTP server and no
 * reply came before the timeout. Such an e-mail may have been delivered, so it is not sent again.
 */
export class EmailDeliveryUncertain1795640000000 implements MigrationInterface {
  name = 'EmailDeliveryUncertain1795640000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "email_deliveries" ADD "uncertain" boolean NOT NULL DEFAULT false`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "email_deliveries" DROP COLUMN "uncertain"`);
  }
}
