import { Injectable } from '@nestjs/common';
import { AdminAuditRepository, AttendeeRecord, AttendeesRepository, PerformanceRepository } from '@app/database';
import { NotFoundError } from '../errors';
import type { Operator } from '../purchases/admin-purchases';

/** The audit action of a door list's download: it hands out every buyer's e-mail and name. */
export const ATTENDEES_EXPORT_ACTION = 'attendees.export';

/** Lines a page of the door list reads at most (one query each). */
export const ATTENDEE_PAGE_SIZE = 1_000;

/**
 * A performance's door list: every active ticket with its seat and buyer, in seat layout order,
 * for the box office's will-call desk and a paper fallback when the door's scanners are down.
 * Reads PostgreSQL only: a purchase younger than PURCHASE_FLUSH_AGE_SECONDS (not yet written
 * behind) is not on it yet; a canceled or refunded purchase's tickets are not on it (also one
 * refunded after its check-in).
 */
@Injectable()
export class AttendeeList {
  constructor(
    private readonly performances: PerformanceRepository,
    private readonly attendees: AttendeesRepository,
    private readonly audit: AdminAuditRepository,
  ) {}

  /**
   * What a HEAD of the download answers: whether the performance's list exists; its venue's time
   * zone (IANA), which the list's times are written in. Reads no line and records no download
   * (nothing is handed out). Throws NotFoundError, DatabaseUnavailableError.
   */
  async probe(performanceId: number): Promise<{ timeZone: string }> {
    const performance = await this.performances.findById(performanceId);
    if (!performance) throw new NotFoundError('performance', { performanceId });
    return { timeZone: performance.timeZone };
  }

  /**
   * The list as pages of up to `pageSize` lines, the first one already read, so an unknown
   * performance (NotFoundError) or an unavailable database (DatabaseUnavailableError) is known
   * before the caller starts its answer. The download is recorded in the audit log first
   * (`attendees.export`, who and which performance: the list carries buyers' personal data), so
   * no list goes out unrecorded. Later pages are read as the caller iterates; a failure then
   * rejects that iteration. With the pages, the venue's time zone (as `probe`).
   */
  async open(
    performanceId: number,
    operator: Operator,
    pageSize = ATTENDEE_PAGE_SIZE,
  ): Promise<{ timeZone: string; pages: AsyncIterable<AttendeeRecord[]> }> {
    const { timeZone } = await this.probe(performanceId);
    await this.audit.record({
      actorId: operator.id,
      actorEmail: operator.email,
      action: ATTENDEES_EXPORT_ACTION,
      subjectId: `performance:${performanceId}`,
      details: { performanceId },
    });
    const first = await this.attendees.page(performanceId, 0, pageSize);
    return { timeZone, pages: this.pagesFrom(performanceId, first, pageSize) };
  }

  private async *pagesFrom(
    performanceId: number,
    first: AttendeeRecord[],
    pageSize: number,
  ): AsyncGenerator<AttendeeRecord[]> {
    let page = first;
    while (page.length > 0) {
      yield page;
      if (page.length < pageSize) return;
      page = await this.attendees.page(performanceId, page[page.length - 1].position, pageSize);
    }
  }
}
