import { accountSubject, NewAdminAudit } from '@app/database';
import type { AuthenticatedUser } from './decorators';

/** The admin acting on an account, as the audit log records them (`actorId`, `actorEmail`). */
export type AccountOperator = Pick<AuthenticatedUser, 'id' | 'email'>;

/**
 * The audit row of `operator`'s `action` on account `accountId`: subject `account:<id>`, details
 * `{accountId}` (never the account's address or name: the row outlives an account's deletion).
 */
export function auditEntry(operator: AccountOperator, action: string, accountId: string): NewAdminAudit {
  return {
    actorId: operator.id,
    actorEmail: operator.email,
    action,
    subjectId: accountSubject(accountId),
    details: { accountId },
  };
}
