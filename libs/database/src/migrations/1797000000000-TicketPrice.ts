import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `tickets.price`: what the buyer paid for the seat (the price its hold was made with), an integer
 * in minor units of the purchase's currency; a purchase's ticket prices sum to its amount. Null
 * for tickets written before (their purchases show the section's price now).
 */
export class TicketPrice1797000000000 implements MigrationInterface {
  name = 'TicketPrice1797000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tickets" ADD "price" integer`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tickets" DROP COLUMN "price"`);
  }
}
