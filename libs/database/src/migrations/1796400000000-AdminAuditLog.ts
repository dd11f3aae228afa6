import { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit log of operators' actions on others' data (admin refunds): who, what, when. */
export class AdminAuditLog1796400000000 implements MigrationInterface {
  name = 'AdminAuditLog1796400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "admin_audit_log" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "actor_id" uuid NOT NULL, "actor_email" character varying(320) NOT NULL, "action" character varying(50) NOT NULL, "subject_id" character varying(100) NOT NULL, "details" jsonb NOT NULL DEFAULT '{}'::jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_admin_audit_log" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "admin_audit_log_subject" ON "admin_audit_log" ("subject_id", "created_at") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."admin_audit_log_subject"`);
    await queryRunner.query(`DROP TABLE "admin_audit_log"`);
  }
}
