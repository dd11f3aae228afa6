import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DEFAULT_FLUSH_OPTIONS, FlushOptions, PurchaseFlusher } from './purchase-flusher';

/**
 * Runs the flusher again and again: at once while it finds due entries, else after a pause.
 * Stopping waits for the batch in progress, so a clean shutdown never leaves a batch half-acknowledged.
 */
@Injectable()
export class PurchaseFlushLoop implements OnApplicationShutdown {
  private readonly logger = new Logger(PurchaseFlushLoop.name);
  private running?: Promise<void>;
  private stopping = false;
  private wake?: () => void;

  constructor(private readonly flusher: PurchaseFlusher) {}

  start(pauseMs = 250, options: FlushOptions = DEFAULT_FLUSH_OPTIONS): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.run(pauseMs, options);
  }

  /** Resolves once the batch in progress, if any, has been written and acknowledged. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private async run(pauseMs: number, options: FlushOptions): Promise<void> {
    let lastError = '';
    while (!this.stopping) {
      let written = 0;
      try {
        written = await this.flusher.flushOnce(options);
        lastError = '';
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // While Redis or PostgreSQL is down every flush fails the same way; say it once.
        if (message !== lastError) this.logger.warn(`purchase flush failed: ${message}`);
        lastError = message;
      }
      if (written === 0) await this.pause(pauseMs);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
