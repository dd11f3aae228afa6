import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, IsUUID } from 'class-validator';
import type { AdminAuditRecord } from '@app/database';
import { auditedActions } from '@app/ticketing';
import { OptionalIdQuery } from '../common/canonical-integer';
import { PageQueryDto } from '../common/page-query.dto';
import { MaxLength } from '../common/text-length';

/** The query of `GET /admin/audit-log`: a page, optionally of one performance, purchase and/or action. */
export class AdminAuditQueryDto extends PageQueryDto {
  @OptionalIdQuery(
    "Only actions about this performance (decimal digits): its creation, changes, cancellation and deletion, its seats' blocks and releases, its sections' prices, its waiting room's settings and removal, its door list's downloads, comps issued and refunds of its purchases, and the deletion of its event.",
  )
  performanceId?: number;

  @ApiPropertyOptional({
    description:
      'Only actions on this purchase (its comp issue, its refund, its tickets e-mailed again, its undone check-ins).',
    format: 'uuid',
  })
  @IsOptional()
  @IsUUID()
  // Stored in lower case, as every id the API writes.
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  purchaseId?: string;

  @ApiPropertyOptional({
    description: `Only this action, one of ${auditedActions().join(', ')} (400 for any other, the message listing these).`,
    enum: auditedActions(),
  })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  // Checked with the other fields, so an unknown action is listed among the field errors (400).
  @IsIn(auditedActions(), { message: `action must be one of ${auditedActions().join(', ')}` })
  action?: string;
}

/** An operator's action as the audit log recorded it. */
export class AdminAuditEntryDto {
  /** The entry's id, in the order entries were recorded (decimal digits). @example "42" */
  id: string;
  /** When it was recorded (PostgreSQL's clock). @example "2027-03-01T10:00:00.000Z" */
  @ApiProperty({ format: 'date-time' })
  at: string;
  /**
   * Who: the operator's user id, kept when the account is deleted; the nil uuid for the seat
   * reconciler's repairs. @example "5b0c3b8e-8f7e-4c0e-9f0e-2d3c4b5a6978"
   */
  actorId: string;
  /** The operator's e-mail at the time (`seat-reconciler` for its repairs). @example "ops@example.com" */
  actorEmail: string;
  @ApiProperty({ enum: auditedActions() })
  action: string;
  /**
   * What was acted on: a purchase id (`purchase.refund`, `comp.issue`, `purchase.resend-tickets`, `check-in.undo`), `event:<id>`, `performance:<id>`,
   * `performance:<id>:section:<name>` (`section.price`) or `performance:<id>:waiting-room`.
   * @example "performance:12"
   */
  subjectId: string;
  /**
   * Facts of the action (amounts in minor units with their currency, times in UTC ISO 8601, seat
   * ids, the selection, reasons; an update's `changed`: each changed field's `{before, after}`).
   */
  @ApiProperty({ type: 'object', additionalProperties: true })
  details: Record<string, unknown>;
}

export class AdminAuditPageDto {
  items: AdminAuditEntryDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}

export function mapAdminAudit(entry: AdminAuditRecord): AdminAuditEntryDto {
  return {
    id: entry.id,
    at: entry.createdAt.toISOString(),
    actorId: entry.actorId,
    actorEmail: entry.actorEmail,
    action: entry.action,
    subjectId: entry.subjectId,
    details: entry.details,
  };
}
