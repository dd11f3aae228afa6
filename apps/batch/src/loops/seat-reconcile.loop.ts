import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@app/config';
import { PollingLoop, RepeatedFailureLog } from '@app/core';
import { SeatReconciler } from '@app/ticketing';

/**
 * Runs the seat reconciler every SEAT_RECONCILE_INTERVAL_SECONDS: one pass over every registered
 * performance, each repair logged and counted by the reconciler. Any number of batch processes may
 * run it at once (every repair is checked again in one script). Stopping waits for the pass.
 */
@Injectable()
export class SeatReconcileLoop extends PollingLoop {
  private readonly logger = new Logger(SeatReconcileLoop.name);
  // While Redis or PostgreSQL is down every pass fails the same way; say it once (then every 30 s, with a count).
  private readonly failures = new RepeatedFailureLog((message) =>
    this.logger.warn(`seat reconciliation failed: ${message}`),
  );

  constructor(
    private readonly reconciler: SeatReconciler,
    @Inject(Env) private readonly env: Env,
  ) {
    super();
  }

  /** `pauseMs`: milliseconds between passes; SEAT_RECONCILE_INTERVAL_SECONDS by default. */
  start(pauseMs = this.env.SEAT_RECONCILE_INTERVAL_SECONDS * 1000): void {
    this.startLoop(pauseMs);
  }

  protected async step(): Promise<boolean> {
    try {
      await this.reconciler.reconcileOnce();
      this.failures.succeeded();
    } catch (error) {
      this.failures.failed(error instanceof Error ? error.message : String(error));
    }
    // A whole pass per pause, whatever it found: the next one starts from a fresh snapshot.
    return false;
  }
}
