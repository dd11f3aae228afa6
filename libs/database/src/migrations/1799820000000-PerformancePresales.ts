import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Presales with access codes (PresaleService): windows before a performance's general on-sale in
 * which buyers holding a presale's code may hold and buy. The code is kept only as its digest
 * (`code_digest`, hex SHA-256 of the performance id and the code in lower case: accessCodeDigest),
 * never readable back; one code per performance at most once. A new, empty table: no lock on
 * anything a buyer reads (the foreign key's SHARE ROW EXCLUSIVE on `performances` lasts the
 * CREATE only).
 */
export class PerformancePresales1799820000000 implements MigrationInterface {
  name = 'PerformancePresales1799820000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE performance_presales (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        performance_id integer NOT NULL REFERENCES performances (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
        opens_at timestamptz NOT NULL,
        closes_at timestamptz NOT NULL,
        code_digest text NOT NULL CHECK (code_digest ~ '^[0-9a-f]{64}$'),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT performance_presales_window CHECK (opens_at < closes_at),
        CONSTRAINT performance_presales_code UNIQUE (performance_id, code_digest)
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE performance_presales`);
  }
}
