import type { NewAdminAudit } from '@app/database';
import type { Operator } from '../purchases/admin-purchases';

/** A value as the audit log's `details` keep it: a time as an ISO 8601 string in UTC (`Z`), else as it is. */
export type AuditValue = string | number | boolean | null;

/** One field an update changed: its value before and after, as {@link auditValue} writes them. */
export interface FieldChange {
  before: AuditValue;
  after: AuditValue;
}

/** A value of a record an audit row tells, before {@link auditValue} writes it. */
type AuditInput = Date | string | number | boolean | null | undefined;

/** `value` as the audit log keeps it: a Date as its ISO 8601 string (`2027-03-01T18:00:00.000Z`), absent as null. */
export function auditValue(value: AuditInput): AuditValue {
  return value instanceof Date ? value.toISOString() : (value ?? null);
}

/** `fields` of `record` as the audit log keeps them (see {@link auditValue}), in the order given. */
export function auditValues<K extends string>(
  record: { [F in K]?: AuditInput },
  fields: readonly K[],
): Record<K, AuditValue> {
  return Object.fromEntries(fields.map((field) => [field, auditValue(record[field])])) as Record<K, AuditValue>;
}

/**
 * The fields among `fields` whose values differ between `before` and `after` (times compared as
 * instants), each with both values; empty when the update changed nothing (then it records no row).
 */
export function changedFields<K extends string>(
  before: { [F in K]?: AuditInput },
  after: { [F in K]?: AuditInput },
  fields: readonly K[],
): Partial<Record<K, FieldChange>> {
  const was = auditValues(before, fields);
  const is = auditValues(after, fields);
  return Object.fromEntries(
    fields
      .filter((field) => was[field] !== is[field])
      .map((field) => [field, { before: was[field], after: is[field] }]),
  ) as Partial<Record<K, FieldChange>>;
}

/** The audit row of `operator`'s `action` on `subjectId`, with the facts of it in `details`. */
export function operatorAudit(
  operator: Operator,
  action: string,
  subjectId: string,
  details: Record<string, unknown>,
): NewAdminAudit {
  return { actorId: operator.id, actorEmail: operator.email, action, subjectId, details };
}
