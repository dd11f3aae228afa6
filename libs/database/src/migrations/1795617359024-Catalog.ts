import { MigrationInterface, QueryRunner } from 'typeorm';

/** Events, their performances and the seats of each performance. */

export class Catalog1795617359024 implements MigrationInterface {
  name = 'Catalog1795617359024';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "events" ("id" integer GENERATED ALWAYS AS IDENTITY NOT NULL, "title" character varying(200) NOT NULL, "description" text, "venue" character varying(200) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_40731c7151fe4be3116e45ddf73" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "performances" ("id" integer GENERATED ALWAYS AS IDENTITY NOT NULL, "event_id" integer NOT NULL, "starts_at" TIMESTAMP WITH TIME ZONE NOT NULL, "sales_open_at" TIMESTAMP WITH TIME ZONE NOT NULL, "total_seats" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_7399cb1c8328315f371412d2312" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "performances_event_starts_at" ON "performances"  ("event_id", "starts_at", "id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "seats" ("id" integer GENERATED ALWAYS AS IDENTITY NOT NULL, "performance_id" integer NOT NULL, "position" integer NOT NULL, "section" character varying(50) NOT NULL, "row" integer NOT NULL, "number" integer NOT NULL, "grade" character varying(20) NOT NULL, "price" integer NOT NULL, CONSTRAINT "seats_performance_position" UNIQUE ("performance_id", "position"), CONSTRAINT "seats_performance_place" UNIQUE ("performance_id", "section", "row", "number"), CONSTRAINT "PK_3fbc74bb4638600c506dcb777a7" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "performances" ADD CONSTRAINT "FK_1f40756b27e1f91f30d45bd22dc" FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "seats" ADD CONSTRAINT "FK_5ffc3bf18c1232456c333d071c0" FOREIGN KEY ("performance_id") REFERENCES "performances"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "seats" DROP CONSTRAINT "FK_5ffc3bf18c1232456c333d071c0"`);
    await queryRunner.query(`ALTER TABLE "performances" DROP CONSTRAINT "FK_1f40756b27e1f91f30d45bd22dc"`);
    await queryRunner.query(`DROP TABLE "seats"`);
    await queryRunner.query(`DROP INDEX "public"."performances_event_starts_at"`);
    await queryRunner.query(`DROP TABLE "performances"`);
    await queryRunner.query(`DROP TABLE "events"`);
  }
}
