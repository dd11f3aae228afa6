import { Injectable, Logger } from '@nestjs/common';
import { PollingLoop, RepeatedFailureLog } from '@app/logging';
import { DEFAULT_FLUSH_OPTIONS, FlushOptions, PurchaseFlusher } from './purchase-flusher';

/**
 * Runs the flusher again and again: at once while it finds due entries, else after a pause.
 * Stopping waits for the batch in progress, so a clean shutdown never leaves a batch half-acknowledged.
 */
@Injectable()
export class PurchaseFlushLoop extends PollingLoop {
  private readonly logger = new Logger(PurchaseFlushLoop.name);
  // While Redis or PostgreSQL is down every flush fails the same way; say it once.
  private readonly failures = new RepeatedFailureLog((message) =>
    this.logger.warn(`purchase flush failed: ${message}`),
  );
  private options: FlushOptions = DEFAULT_FLUSH_OPTIONS;

  constructor(private readonly flusher: PurchaseFlusher) {
    super();
  }

  start(pauseMs = 250, options: FlushOptions = DEFAULT_FLUSH_OPTIONS): void {
    this.options = options;
    this.startLoop(pauseMs);
  }

  protected async step(): Promise<boolean> {
    try {
      const written = await this.flusher.flushOnce(this.options);
      this.failures.succeeded();
      return written > 0;
    } catch (error) {
      this.failures.failed(error instanceof Error ? error.message : String(error));
      return false;
    }
  }
}
