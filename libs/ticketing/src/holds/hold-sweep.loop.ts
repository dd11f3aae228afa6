import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { HoldSweeper } from './hold-sweeper';

/**
 * Runs the sweeper again and again: at once while it finds expired holds, else after a pause.
 * A 250 ms pause keeps freed seats well inside the 2 s promise (P3).
 */
@Injectable()
export class HoldSweepLoop implements OnApplicationShutdown {
  private readonly logger = new Logger(HoldSweepLoop.name);
  private running?: Promise<void>;
  private stopping = false;
  private wake?: () => void;

  constructor(private readonly sweeper: HoldSweeper) {}

  start(pauseMs = 250, batchSize = 500): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.run(pauseMs, batchSize);
  }

  /** Resolves once the sweep in progress, if any, has finished. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private async run(pauseMs: number, batchSize: number): Promise<void> {
    let lastError = '';
    while (!this.stopping) {
      let ended = 0;
      try {
        ended = await this.sweeper.sweepOnce(batchSize);
        lastError = '';
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // While Redis is down every sweep fails the same way; say it once.
        if (message !== lastError) this.logger.warn(`hold sweep failed: ${message}`);
        lastError = message;
      }
      if (ended === 0) await this.pause(pauseMs);
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
