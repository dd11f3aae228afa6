import { Injectable, Logger } from '@nestjs/common';
import { describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';
import { HoldSweeper } from '@app/ticketing';

/**
 * Runs the sweeper again and again: at once while it finds expired holds, else after a pause.
 * A 250 ms pause keeps freed seats well inside the 2 s promise (P3).
 */
@Injectable()
export class HoldSweepLoop extends PollingLoop {
  private readonly logger = new Logger(HoldSweepLoop.name);
  // While Redis is down every sweep fails the same way; say it once (then every 30 s, with a count).
  private readonly failures = new RepeatedFailureLog((message) => this.logger.warn(`hold sweep failed: ${message}`));
  private batchSize = 500;

  constructor(private readonly sweeper: HoldSweeper) {
    super();
  }

  start(pauseMs = 250, batchSize = 500): void {
    this.batchSize = batchSize;
    this.startLoop(pauseMs);
  }

  protected async step(): Promise<boolean> {
    try {
      const ended = await this.sweeper.sweepOnce(this.batchSize);
      this.failures.succeeded();
      return ended > 0;
    } catch (error) {
      this.failures.failed(describeFailure(error));
      return false;
    }
  }
}
