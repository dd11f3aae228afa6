import { Injectable, Logger } from '@nestjs/common';
import { describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';
import { BulkRefund } from '@app/ticketing';

/**
 * Refunds the purchases of canceled performances (BulkRefund) again and again: at once while a
 * step canceled something, else after a pause (purchases waiting for their flush, refunds owed to
 * the payment reconciler, or nothing to do). Stopping waits for the step in progress.
 */
@Injectable()
export class BulkRefundLoop extends PollingLoop {
  private readonly logger = new Logger(BulkRefundLoop.name);
  // While PostgreSQL, Redis or the gateway is down every try fails the same way; say it once (then every 30 s, with a count).
  private readonly failures = new RepeatedFailureLog((message) => this.logger.warn(`bulk refund failed: ${message}`));

  constructor(private readonly refunds: BulkRefund) {
    super();
  }

  /** `pauseMs`: milliseconds between looks while nothing is to cancel now. */
  start(pauseMs = 250): void {
    this.startLoop(pauseMs);
  }

  protected async step(): Promise<boolean> {
    try {
      const step = await this.refunds.refundOnce();
      this.failures.succeeded();
      return step !== null && (step.canceled > 0 || step.completed);
    } catch (error) {
      this.failures.failed(describeFailure(error));
      return false;
    }
  }
}
