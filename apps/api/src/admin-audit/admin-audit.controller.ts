import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Role, Roles } from '@app/auth';
import { AdminAuditLog } from '@app/ticketing';
import { AdminAuditPageDto, AdminAuditQueryDto, mapAdminAudit } from './admin-audit.dto';

@ApiTags('admin')
@ApiBearerAuth()
@Roles(Role.Admin)
@Controller('admin/audit-log')
export class AdminAuditController {
  constructor(private readonly auditLog: AdminAuditLog) {}

  /**
   * The audit log of operators' actions, newest first: who created, changed or deleted an event
   * or performance, set or removed a waiting room, changed a section's price, blocked or released
   * seats, downloaded a door list, refunded a purchase or canceled a performance, created, granted
   * or revoked a staff account or deleted an account, when, and the facts of it; also the seat
   * reconciler's repairs. Filters: `performanceId`,
   * `purchaseId`, `action` (400 for an action the log never records). A page's `nextCursor` is
   * bound to its filters: followed with other ones it is a 400 (InvalidCursor). Admin only.
   */
  @Get()
  async list(@Query() query: AdminAuditQueryDto): Promise<AdminAuditPageDto> {
    const page = await this.auditLog.list(
      { performanceId: query.performanceId, subjectId: query.purchaseId, action: query.action },
      query.cursor,
      query.limit,
    );
    return { items: page.items.map(mapAdminAudit), nextCursor: page.nextCursor };
  }
}
