import { Injectable } from '@nestjs/common';
import {
  ACCOUNT_DELETE_ACTION,
  AdminAuditFilter,
  AdminAuditRecord,
  AdminAuditRepository,
  STAFF_CREATE_ACTION,
  STAFF_GRANT_ACTION,
  STAFF_REVOKE_ACTION,
} from '@app/database';
import {
  assertSameFilters,
  decodeCursor,
  encodeCursor,
  filterDigest,
  InvalidInputError,
  isFilterDigest,
} from '@app/core';
import { SEAT_BLOCK_ACTION, SEAT_RELEASE_ACTION } from '../blocks/seat-blocks';
import { PERFORMANCE_CANCEL_ACTION } from '../cancellations/performance-cancellations';
import type { Page } from '../catalog/catalog.types';
import { EVENT_CREATE_ACTION, EVENT_DELETE_ACTION, EVENT_UPDATE_ACTION } from '../catalog/event.service';
import {
  PERFORMANCE_CREATE_ACTION,
  PERFORMANCE_DELETE_ACTION,
  PERFORMANCE_UPDATE_ACTION,
} from '../catalog/performance.service';
import { SECTION_PRICE_ACTION } from '../catalog/section-rules';
import { BOX_OFFICE_SALE_ACTION } from '../box-office/box-office';
import { COMP_ISSUE_ACTION } from '../comps/comps';
import { PRESALE_CREATE_ACTION, PRESALE_DELETE_ACTION, PRESALE_UPDATE_ACTION } from '../presales/presales';
import { REFUND_ACTION } from '../purchases/admin-purchases';
import { WINDOW_REFUND_PAID_ACTION } from '../purchases/window-refunds';
import { ATTENDEES_EXPORT_ACTION } from '../sales/attendee-list';
import { CHECK_IN_UNDO_ACTION } from '../tickets/check-in-undo';
import { TICKET_RESEND_ACTION, TICKETS_RESEND_ACTION } from '../tickets/ticket-resend';
import { WAITING_ROOM_DELETE_ACTION, WAITING_ROOM_UPDATE_ACTION } from '../waiting-room/waiting-room.service';

/**
 * Every action the audit log records, in the order an operator meets them. A function, not a
 * constant, so that it reads the actions' constants when called, not while modules load.
 */
export function auditedActions(): string[] {
  return [
    EVENT_CREATE_ACTION,
    EVENT_UPDATE_ACTION,
    PERFORMANCE_CREATE_ACTION,
    PERFORMANCE_UPDATE_ACTION,
    SECTION_PRICE_ACTION,
    WAITING_ROOM_UPDATE_ACTION,
    WAITING_ROOM_DELETE_ACTION,
    PRESALE_CREATE_ACTION,
    PRESALE_UPDATE_ACTION,
    PRESALE_DELETE_ACTION,
    SEAT_BLOCK_ACTION,
    SEAT_RELEASE_ACTION,
    ATTENDEES_EXPORT_ACTION,
    COMP_ISSUE_ACTION,
    BOX_OFFICE_SALE_ACTION,
    REFUND_ACTION,
    WINDOW_REFUND_PAID_ACTION,
    TICKETS_RESEND_ACTION,
    TICKET_RESEND_ACTION,
    CHECK_IN_UNDO_ACTION,
    PERFORMANCE_CANCEL_ACTION,
    PERFORMANCE_DELETE_ACTION,
    EVENT_DELETE_ACTION,
    STAFF_CREATE_ACTION,
    STAFF_GRANT_ACTION,
    STAFF_REVOKE_ACTION,
    ACCOUNT_DELETE_ACTION,
  ];
}

/** An audit id in a cursor: the decimal digits of a positive `bigint`, within JavaScript's safe integers. */
const isAuditId = (value: unknown) => typeof value === 'string' && /^[1-9][0-9]{0,15}$/.test(value);
/** The digest of an audit filter carried in every cursor of the log, the unfiltered list's too (see filterDigest). */
function digestOf(filter: AdminAuditFilter): string {
  return filterDigest([filter.performanceId, filter.subjectId, filter.action]);
}

/**
 * Reads the audit log of operators' actions (`admin_audit_log`: who created, changed or deleted an
 * event or performance, set or removed a waiting room, created or deleted a presale, changed a price, blocked or released
 * seats, downloaded a door list, issued a comp, refunded a purchase, e-mailed a buyer's tickets again or one ticket to its holder, undid a check-in, canceled a performance; and the seat
 * reconciler's repairs, as actor `seat-reconciler`; and an admin's creating, granting or revoking a
 * staff account or deleting an account), newest first. The rows are written by the
 * actions themselves, each in its own transaction or before its first byte.
 */
@Injectable()
export class AdminAuditLog {
  constructor(private readonly audit: AdminAuditRepository) {}

  /**
   * A page of at most `limit` (1–100) actions matching `filter` (see AdminAuditFilter), newest
   * first; `cursor` is the previous page's `nextCursor`, made with the same filter (it carries the
   * filter's digest). Throws InvalidInputError (400) for an action the log never records (the
   * message lists those it does); DomainError 'invalid' (InvalidCursor, 400) for a cursor this list
   * did not write ("cursor is not valid for this list") or one made with another filter ("cursor
   * was made with other filters: send the same filters").
   */
  async list(filter: AdminAuditFilter, cursor: string | undefined, limit: number): Promise<Page<AdminAuditRecord>> {
    if (filter.action !== undefined && !auditedActions().includes(filter.action)) {
      throw new InvalidInputError(`action must be one of ${auditedActions().join(', ')}`, {
        actions: auditedActions(),
      });
    }
    const digest = digestOf(filter);
    const key = decodeCursor<{ i: string; f: string }>(cursor, { i: isAuditId, f: isFilterDigest });
    assertSameFilters(key?.f, digest);
    const rows = await this.audit.page(filter, key?.i ?? null, limit + 1);
    const items = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor({ i: items[items.length - 1].id, f: digest }) : null;
    return { items, nextCursor };
  }
}
