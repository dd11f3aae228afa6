import { MigrationInterface, QueryRunner } from 'typeorm';
import { LockedTables, lockingBriefly } from './locking-briefly';

/** The ALTER takes ACCESS EXCLUSIVE on `performance_presales`: presale changes and rebuilds queue behind it. */
const PRESALES: LockedTables = {
  migration: 'PresaleMaxSeats1800000150000',
  tables: '"performance_presales"',
  stalls: 'every presale change and seat-state rebuild',
  holders: 'them',
};

/**
 * A presale's allocation: `performance_presales.max_seats`, the seats its access code may take
 * in all (held and sold together), a positive integer; NULL = no allocation (the hall is the
 * limit), which every presale made before it keeps (presale trial 2026-12-07, M2). The hold
 * scripts count the seats in Redis (PresaleStore); PostgreSQL keeps the limit only. A nullable
 * column without a default: no rewrite; its CHECK reads the (small) table once.
 */
export class PresaleMaxSeats1800000150000 implements MigrationInterface {
  name = 'PresaleMaxSeats1800000150000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PRESALES, async () => {
      await queryRunner.query(
        `ALTER TABLE "performance_presales" ADD "max_seats" integer
           CONSTRAINT performance_presales_max_seats CHECK (max_seats > 0)`,
      );
    });
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await lockingBriefly(queryRunner, PRESALES, async () => {
      await queryRunner.query(`ALTER TABLE "performance_presales" DROP COLUMN "max_seats"`);
    });
  }
}
