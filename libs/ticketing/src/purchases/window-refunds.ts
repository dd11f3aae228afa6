import { Injectable } from '@nestjs/common';
import { assertSameFilters, filterDigest } from '@app/core';
import {
  PerformanceRepository,
  PurchaseRepository,
  WindowRefund,
  WindowRefundsRepository,
  WindowRefundStatus,
} from '@app/database';
import { decodeCursor, encodeCursor } from '../catalog/cursor';
import type { Page } from '../catalog/catalog.types';
import { NotFoundError, WindowRefundPaidError } from '../errors';
import { isUuid } from '../input';
import type { Operator } from './admin-purchases';
import { cancellationFromEntry, refundFromEntry } from './purchase-flusher';
import { PurchaseStore } from './purchase.store';

/** The audit action of marking a refund owed at the window paid. */
export const WINDOW_REFUND_PAID_ACTION = 'purchase.window-refund-paid';

/**
 * Refunds owed at the box office window: box office sales (paid in cash or on the card terminal,
 * never through the gateway) that the bulk refund of their canceled performance canceled. Nothing
 * gives their money back by itself: the holder brings the tickets or receipt to the window, an
 * operator gives the amount back the way it was taken and marks the refund paid here (audited).
 * A sale the bulk refund canceled whose cancellation is still only in Redis (its PostgreSQL write
 * failed; the flush writes it) is written here first, as the flush would: its refund is owed from
 * the bulk refund on, so it is listed and can be marked paid at once, not a flush later.
 */
@Injectable()
export class WindowRefunds {
  constructor(
    private readonly refunds: WindowRefundsRepository,
    private readonly performances: PerformanceRepository,
    private readonly purchases: PurchaseRepository,
    private readonly store: PurchaseStore,
  ) {}

  /**
   * Writes what the flush has still to write of the performance's box office sales canceled with it
   * (PurchaseRepository.writeWindowSaleShowCancels, as the flush writes it; its replay changes
   * nothing): their partial refunds given at the window, which lower what is owed there, then
   * their cancellations, whose refunds are recorded owed. Throws DatabaseUnavailableError.
   */
  private async writeUnwritten(performanceId: number): Promise<void> {
    const { cancels, refunds } = await this.store.unwrittenShowCancels(performanceId);
    await this.purchases.writeWindowSaleShowCancels(cancels.map(cancellationFromEntry), refunds.map(refundFromEntry));
  }

  /**
   * The performance's window refunds, oldest owed first, only those of `status` when given; the
   * cursor carries the filter's digest. The bulk refund's cancellations of box office sales not
   * written to PostgreSQL yet are written first (see the class), so they are listed. Throws NotFoundError('performance'), DomainError 'invalid'
   * (InvalidCursor, 400) for a cursor this list did not write or one made with another status.
   */
  async list(
    performanceId: number,
    status: WindowRefundStatus | undefined,
    cursor: string | undefined,
    limit: number,
  ): Promise<Page<WindowRefund>> {
    const digest = filterDigest([performanceId, status ?? null]);
    const after = decodeCursor<{ t: number; i: string; f: string }>(cursor, { t: 'millis', i: 'uuid', f: 'digest' });
    assertSameFilters(after?.f, digest);
    if (!(await this.performances.findById(performanceId))) throw new NotFoundError('performance');
    await this.writeUnwritten(performanceId);
    const keyset = after ? { owedAt: new Date(after.t), purchaseId: after.i } : null;
    const rows = await this.refunds.page(performanceId, status, keyset, limit + 1);
    const items = rows.slice(0, limit);
    const last = rows.length > limit ? items[items.length - 1] : undefined;
    return {
      items,
      nextCursor: last ? encodeCursor({ t: last.owedAt.getTime(), i: last.purchaseId, f: digest }) : null,
    };
  }

  /**
   * Marks the purchase's refund owed at the window paid by `operator` (the money given back there),
   * with an audit row (`purchase.window-refund-paid`); one whose cancellation by the bulk refund is
   * not written yet is written first (see the class). Of concurrent marks one wins; the others,
   * and any mark of a refund paid before, throw WindowRefundPaidError. Throws
   * NotFoundError('window refund') when no refund is owed at the window for that purchase.
   */
  async markPaid(operator: Operator, purchaseId: string): Promise<WindowRefund> {
    if (!isUuid(purchaseId)) throw new NotFoundError('window refund');
    // What is owed may be written already and still too high: a partial refund given at the window
    // before the cancel, its write still in the stream (writeUnwritten lowers it), or not written
    // at all (written, then marked).
    const performanceId = await this.store.performanceOfPurchase(purchaseId);
    if (performanceId !== null) await this.writeUnwritten(performanceId);
    const marked = await this.refunds.markPaid(purchaseId, operator, { action: WINDOW_REFUND_PAID_ACTION });
    if (marked.outcome === 'not-found') throw new NotFoundError('window refund');
    if (marked.outcome === 'already-paid') throw new WindowRefundPaidError(marked.refund);
    return marked.refund;
  }
}
