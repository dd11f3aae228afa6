import { MigrationInterface, QueryRunner } from 'typeorm';

/** Waiting rooms (issue 15): one optional row per performance, gone with its performance. */
export class WaitingRooms1796100000000 implements MigrationInterface {
  name = 'WaitingRooms1796100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "waiting_rooms" (
        "performance_id" integer NOT NULL,
        "opens_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "admit_per_second" integer NOT NULL CHECK ("admit_per_second" > 0),
        "max_active" integer NOT NULL CHECK ("max_active" > 0),
        "admission_ttl_seconds" integer NOT NULL CHECK ("admission_ttl_seconds" > 0),
        "session_ttl_seconds" integer NOT NULL CHECK ("session_ttl_seconds" > 0),
        "seed" character(64) NOT NULL,
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT "PK_waiting_rooms" PRIMARY KEY ("performance_id"),
        CONSTRAINT "FK_waiting_rooms_performance" FOREIGN KEY ("performance_id")
          REFERENCES "performances"("id") ON DELETE CASCADE
      )`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "waiting_rooms"`);
  }
}
