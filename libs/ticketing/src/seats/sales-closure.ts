import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { StoreUnavailableError } from '@app/core';
import { SalesAtClose } from './seat-scripts';
import { SeatStateStore } from './seat-state.store';

/**
 * How often, in ms, a closer renews its closures (a lease of `leaseMs` ms, SALES_CLOSURE_LEASE_MS)
 * while it works: five times a lease, so one slow round trip to Redis does not let the closure of
 * a live closer lapse.
 */
export function closureRenewalMs(leaseMs: number): number {
  return Math.floor(leaseMs / 5);
}

/**
 * One caller's closure of performances to sales (a delete, an event's time zone change), as a
 * lease (close-sales.lua, the sales-closure include): closed under one token of its own, renewed
 * every fifth of `leaseMs` while the caller works, so a caller whose process dies or loses Redis
 * leaves sales closed for at most a lease (measured by Redis TIME), never for good.
 *
 * The caller's PostgreSQL transaction must not commit on a closure that lapsed meanwhile (sales
 * may have been made since): it calls {@link confirm} as its last step before the commit, which
 * renews every closure once more (a full lease for the commit) or throws. A delete confirms
 * 'final': its closures lose their deadline, since from its commit on the performance is gone and
 * no sale may land, even should the caller die before it removed the keys (the seat reconciler
 * settles a final closure whose transaction ended: SeatReconciler). Every path ends with
 * {@link reopen} or, once the keys are to be removed, {@link stop}.
 */
export class SalesClosure {
  /** The token of this caller's closures (close-sales.lua). */
  readonly token = randomUUID();
  private readonly closed: number[] = [];
  /** Confirmed final (a delete about to commit): from then on only PostgreSQL knows whether it committed. */
  private final = false;
  private readonly renewal: NodeJS.Timeout;
  private readonly logger = new Logger(SalesClosure.name);

  constructor(
    private readonly seatState: SeatStateStore,
    private readonly leaseMs: number,
  ) {
    this.renewal = setInterval(() => {
      this.renewAll(leaseMs).then(
        (lapsed) => {
          if (lapsed.length > 0) this.logger.warn(`sales closure lapsed: performances ${lapsed.join(', ')}`);
        },
        (error: Error) => this.logger.warn(`sales closure not renewed: ${error.message}`),
      );
    }, closureRenewalMs(leaseMs));
    // A stalled caller keeps no process alive: its closures lapse with it.
    this.renewal.unref();
  }

  /** The performances closed under this closure so far, in the order closed. */
  get performanceIds(): readonly number[] {
    return this.closed;
  }

  /**
   * Closes `performanceId` to sales as part of this closure (SeatStateStore.closeSales, `unheld`
   * as there); renewed from now on while it stands. Answers what closeSales answers.
   */
  async close(performanceId: number, unheld = false): Promise<SalesAtClose | null> {
    const atClose = await this.seatState.closeSales(performanceId, this.token, this.leaseMs, unheld);
    if (atClose?.closed && !this.closed.includes(performanceId)) this.closed.push(performanceId);
    return atClose;
  }

  /**
   * Renews every closure of this caller right before its transaction commits: for a full lease,
   * or with `final` for good (a delete). Throws StoreUnavailableError (503, nothing committed) when
   * one lapsed (the caller stalled, or Redis was out of reach, longer than a lease) or Redis fails.
   */
  async confirm(final = false): Promise<void> {
    const lapsed = await this.renewAll(final ? 'final' : this.leaseMs);
    if (lapsed.length > 0) {
      throw new StoreUnavailableError(
        'redis',
        new Error(`the closure to sales of performances ${lapsed.join(', ')} lapsed before the commit`),
      );
    }
    this.final = final;
  }

  /** Stops renewing (the keys are being removed with a deleted performance). */
  stop(): void {
    clearInterval(this.renewal);
  }

  /**
   * Stops renewing and ends this caller's part in each closure (SeatStateStore.reopenSales) — unless
   * it was confirmed final: a delete that fails after that failed at its COMMIT, which may have
   * committed all the same (a connection lost while committing), so its closures are left for the
   * seat reconciler, which asks PostgreSQL whether the performance is still there.
   */
  async reopen(): Promise<void> {
    this.stop();
    if (this.final) {
      this.logger.warn(
        `commit of a delete failed after its closure was made final: performances ${this.closed.join(', ')} ` +
          'stay closed until the seat reconciler settles them',
      );
      return;
    }
    for (const performanceId of this.closed) await this.seatState.reopenSales(performanceId, this.token);
  }

  /** Renews each closure for `lease`; answers the performances whose closure had lapsed. */
  private async renewAll(lease: number | 'final'): Promise<number[]> {
    const lapsed: number[] = [];
    for (const performanceId of this.closed) {
      if (!(await this.seatState.renewSalesClosure(performanceId, this.token, lease))) lapsed.push(performanceId);
    }
    return lapsed;
  }
}
