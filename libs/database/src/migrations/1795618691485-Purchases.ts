import { MigrationInterface, QueryRunner } from 'typeorm';

/** Purchases written behind from Redis, their tickets, the outbox to RabbitMQ, sent e-mails. */
export class Purchases1795618691485 implements MigrationInterface {
  name = 'Purchases1795618691485';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "email_deliveries" ("message_id" character varying(200) NOT NULL, "purchase_id" uuid NOT NULL, "recipient" character varying(320) NOT NULL, "smtp_message_id" character varying(500), "sent_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_565606256b5893695b2eea3593c" PRIMARY KEY ("message_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "outbox" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "message_id" character varying(200) NOT NULL, "routing_key" character varying(100) NOT NULL, "payload" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "published_at" TIMESTAMP WITH TIME ZONE, "attempts" integer NOT NULL DEFAULT '0', CONSTRAINT "PK_340ab539f309f03bdaa14aa7649" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "outbox_message_id_key" ON "outbox"  ("message_id") `);
    await queryRunner.query(`CREATE INDEX "outbox_unpublished" ON "outbox"  ("id") WHERE published_at IS NULL`);
    await queryRunner.query(`CREATE TYPE "public"."purchase_status" AS ENUM('PAID', 'CANCELED')`);
    await queryRunner.query(
      `CREATE TABLE "purchases" ("id" uuid NOT NULL, "reservation_id" uuid NOT NULL, "user_id" uuid NOT NULL, "performance_id" integer NOT NULL, "amount" numeric(14,2) NOT NULL, "status" "public"."purchase_status" NOT NULL DEFAULT 'PAID', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "canceled_at" TIMESTAMP WITH TIME ZONE, "persisted_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1d55032f37a34c6eceacbbca6b8" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "purchases_reservation_key" ON "purchases"  ("reservation_id") `);
    await queryRunner.query(`CREATE INDEX "purchases_user_created" ON "purchases"  ("user_id", "created_at", "id") `);
    await queryRunner.query(`CREATE TYPE "public"."ticket_status" AS ENUM('ACTIVE', 'CANCELED')`);
    await queryRunner.query(
      `CREATE TABLE "tickets" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "purchase_id" uuid NOT NULL, "performance_id" integer NOT NULL, "seat_id" integer NOT NULL, "status" "public"."ticket_status" NOT NULL DEFAULT 'ACTIVE', CONSTRAINT "tickets_purchase_seat_key" UNIQUE ("purchase_id", "seat_id"), CONSTRAINT "PK_343bc942ae261cf7a1377f48fd0" PRIMARY KEY ("id"))`,
    );
    // The last line of defence of P1: never two active tickets for one seat.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "tickets_seat_active_key" ON "tickets" ("seat_id") WHERE status = 'ACTIVE'`,
    );
    await queryRunner.query(
      `ALTER TABLE "purchases" ADD CONSTRAINT "purchases_user_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT`,
    );
    await queryRunner.query(
      `ALTER TABLE "purchases" ADD CONSTRAINT "purchases_performance_fk" FOREIGN KEY ("performance_id") REFERENCES "performances"("id") ON DELETE RESTRICT`,
    );
    await queryRunner.query(
      `ALTER TABLE "tickets" ADD CONSTRAINT "tickets_purchase_fk" FOREIGN KEY ("purchase_id") REFERENCES "purchases"("id") ON DELETE CASCADE`,
    );
    await queryRunner.query(
      `ALTER TABLE "tickets" ADD CONSTRAINT "tickets_seat_fk" FOREIGN KEY ("seat_id") REFERENCES "seats"("id") ON DELETE RESTRICT`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "tickets"`);
    await queryRunner.query(`DROP TYPE "public"."ticket_status"`);
    await queryRunner.query(`DROP INDEX "public"."purchases_user_created"`);
    await queryRunner.query(`DROP INDEX "public"."purchases_reservation_key"`);
    await queryRunner.query(`DROP TABLE "purchases"`);
    await queryRunner.query(`DROP TYPE "public"."purchase_status"`);
    await queryRunner.query(`DROP INDEX "public"."outbox_unpublished"`);
    await queryRunner.query(`DROP INDEX "public"."outbox_message_id_key"`);
    await queryRunner.query(`DROP TABLE "outbox"`);
    await queryRunner.query(`DROP TABLE "email_deliveries"`);
  }
}
