import { Injectable, Module } from '@nestjs/common';
import { PerformanceReschedulesRepository, RescheduleNoticeStep } from '@app/database';

/** Purchases whose notices one step queues: one statement's page, a few hundred kB of outbox rows. */
const RESCHEDULE_NOTICE_PAGE = 500;

/**
 * Tells the buyers of a performance that moved (its `startsAt` changed by a PATCH, recorded in
 * `performance_reschedules` in the PATCH's transaction): one notice per purchase PAID in
 * PostgreSQL, queued in the outbox page by page for the mailer (`purchase.rescheduled`), which
 * sends it only to a buyer whose confirmation went out before (PurchaseMailService.deliverReschedule).
 * No state of its own: any number of `batch` processes may run it, and a killed one loses nothing
 * (each page is one transaction).
 */
@Injectable()
export class RescheduleNotices {
  constructor(private readonly reschedules: PerformanceReschedulesRepository) {}

  /**
   * Queues the next page of the oldest open move's notices (PerformanceReschedulesRepository.queueNextNotices).
   * Null when no move is open. Throws DatabaseUnavailableError.
   */
  queueOnce(pageSize = RESCHEDULE_NOTICE_PAGE): Promise<RescheduleNoticeStep | null> {
    return this.reschedules.queueNextNotices(pageSize);
  }
}

/** The notices of moved performances, for `batch`. Needs the global DatabaseModule. */
@Module({ providers: [RescheduleNotices], exports: [RescheduleNotices] })
export class RescheduleNoticesModule {}
