import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { DoorCountRow, SalesRepository } from '@app/database';
import type { SalesState } from '../catalog/sales-state';
import { NotFoundError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import {
  checkInSettingsOf,
  checkInStateAt,
  checkInWindowOf,
  checkInWindowSettings,
  CheckInWindowState,
} from '../tickets/check-in-window';
import { addFigures, emptyFigures, eventSections, performanceReport, SalesFigures, SalesReport } from './sales-report';
import { SalesStore } from './sales.store';

/** A performance's report (also inside an event's), with its `salesState` at the report's time. */
export interface PerformanceSalesReport extends SalesReport {
  performanceId: number;
  salesState: SalesState;
  /**
   * Its check-in window at the report's time (the api's clock, as the door decides): `state`
   * NOT_OPEN, OPEN or CLOSED; its figures count no-shows only once CLOSED. `byDoor`: the totals'
   * `checkedIn` per scanning account (a gate), as the door count's `byDoor` (GET
   * /performances/:id/check-ins/summary): admitted and the latest check-in, by e-mail.
   */
  checkIn: { state: CheckInWindowState; opensAt: Date; closesAt: Date; byDoor: DoorCountRow[] };
}

/** An event's report: its performances' figures summed (sections by name in any casing), and each performance's. */
export interface EventSalesReport extends SalesReport {
  eventId: number;
  performances: PerformanceSalesReport[];
}

/**
 * Sales reports for operators, exact at the moment they are read: PostgreSQL's purchases plus
 * the purchases and cancellations still in Redis (the purchase stream), and the live seat state.
 */
@Injectable()
export class SalesReportService {
  constructor(
    private readonly store: SalesStore,
    private readonly repository: SalesRepository,
    private readonly rebuilder: SeatStateRebuilder,
    private readonly clock: Clock,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * Throws NotFoundError for an unknown performance. A performance Redis lost is rebuilt from
   * PostgreSQL first: the live letters say which refunded seats are kept sold.
   */
  async ofPerformance(performanceId: number): Promise<PerformanceSalesReport> {
    await this.rebuilder.ensure(performanceId);
    // Redis first: see mergePurchases.
    const live = await this.store.live(performanceId);
    const rows = await this.repository.performanceSales(performanceId);
    if (!rows) throw new NotFoundError('performance', { performanceId });
    const settings = checkInSettingsOf(rows.checkInWindow, checkInWindowSettings(this.env));
    const window = checkInWindowOf(rows.lifecycle.startsAt, settings);
    const state = checkInStateAt(window, this.clock.now().getTime());
    const { byDoor, ...report } = performanceReport(rows, live, { checkInClosed: state === 'CLOSED' });
    return { performanceId, ...report, checkIn: { state, ...window, byDoor } };
  }

  /** Throws NotFoundError for an unknown event. An event without performances reports zeros in its currency. */
  async ofEvent(eventId: number): Promise<EventSalesReport> {
    const event = await this.repository.eventPerformances(eventId);
    if (!event) throw new NotFoundError('event', { eventId });
    const performances: PerformanceSalesReport[] = [];
    for (const performanceId of event.performanceIds) {
      try {
        performances.push(await this.ofPerformance(performanceId));
      } catch (error) {
        // Deleted while the report was read: it has nothing to report any more.
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    const totals: SalesFigures = emptyFigures();
    for (const report of performances) addFigures(totals, report.totals);
    return {
      eventId,
      currency: event.currency,
      totals,
      sections: eventSections(performances.map((report) => report.sections)),
      performances,
    };
  }
}
