import { Injectable, Logger } from '@nestjs/common';
import { describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';
import { PaymentReconciler } from '@app/ticketing';

/**
 * Runs the payment reconciliation (P9) again and again: at once while it finds stale attempts,
 * else after a pause. Stopping waits for the attempt in progress.
 */
@Injectable()
export class PaymentReconcileLoop extends PollingLoop {
  private readonly logger = new Logger(PaymentReconcileLoop.name);
  // While PostgreSQL, Redis or the gateway is down every try fails the same way; say it once (then every 30 s, with a count).
  private readonly failures = new RepeatedFailureLog((message) =>
    this.logger.warn(`payment reconciliation failed: ${message}`),
  );

  constructor(private readonly reconciler: PaymentReconciler) {
    super();
  }

  /** `pauseMs`: milliseconds between looks while nothing is due. */
  start(pauseMs = 1000): void {
    this.startLoop(pauseMs);
  }

  protected async step(): Promise<boolean> {
    try {
      const outcome = await this.reconciler.reconcileOnce();
      this.failures.succeeded();
      return outcome !== null;
    } catch (error) {
      this.failures.failed(describeFailure(error));
      return false;
    }
  }
}
