import { Module } from '@nestjs/common';
import { AdminAuditLog } from './admin-audit-log';

/** Reading the audit log of operators' actions. Needs DatabaseModule. */
@Module({
  providers: [AdminAuditLog],
  exports: [AdminAuditLog],
})
export class AuditModule {}
