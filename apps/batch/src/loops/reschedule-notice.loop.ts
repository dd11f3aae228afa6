import { Injectable, Logger } from '@nestjs/common';
import { describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';
import { RescheduleNotices } from '@app/ticketing';

/**
 * Queues the notices of moved performances (RescheduleNotices) page after page: at once while a
 * step found a move to work on, else after a pause. Stopping waits for the step in progress.
 */
@Injectable()
export class RescheduleNoticeLoop extends PollingLoop {
  private readonly logger = new Logger(RescheduleNoticeLoop.name);
  // While PostgreSQL is down every try fails the same way; say it once (then every 30 s, with a count).
  private readonly failures = new RepeatedFailureLog((message) =>
    this.logger.warn(`queueing new-date notices failed: ${message}`),
  );

  constructor(private readonly notices: RescheduleNotices) {
    super();
  }

  /** `pauseMs`: milliseconds between looks while no move is open. */
  start(pauseMs = 1_000): void {
    this.startLoop(pauseMs);
  }

  protected async step(): Promise<boolean> {
    try {
      const step = await this.notices.queueOnce();
      this.failures.succeeded();
      if (step?.completed) {
        this.logger.log(`performance ${step.performanceId}: every new-date notice of move ${step.rescheduleId} queued`);
      }
      return step !== null;
    } catch (error) {
      this.failures.failed(describeFailure(error));
      return false;
    }
  }
}
