import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';
import { FlushOptions, PurchaseFlusher } from '@app/ticketing';

/**
 * Runs the flusher again and again: at once while it finds due entries, else after a pause.
 * Stopping waits for the batch in progress, so a clean shutdown never leaves a batch half-acknowledged.
 */
@Injectable()
export class PurchaseFlushLoop extends PollingLoop {
  private readonly logger = new Logger(PurchaseFlushLoop.name);
  // While Redis or PostgreSQL is down every flush fails the same way; say it once (then every 30 s, with a count).
  private readonly failures = new RepeatedFailureLog((message) =>
    this.logger.warn(`purchase flush failed: ${message}`),
  );
  private options?: FlushOptions;
  /** Resolves when the pass in progress ends; undefined between passes. */
  private pass?: Promise<unknown>;
  /** Purchases (and cancellations) written to PostgreSQL; in no registry until a process adds it. */
  readonly flushed = new Counter({
    name: 'boxoffice_purchases_flushed_total',
    help: 'Purchases and cancellations written from Redis to PostgreSQL',
    registers: [],
  });
  /** Flush passes that failed (Redis or PostgreSQL unreachable, say). */
  readonly failedPasses = new Counter({
    name: 'boxoffice_purchase_flush_failures_total',
    help: 'Purchase flush passes that failed',
    registers: [],
  });

  constructor(private readonly flusher: PurchaseFlusher) {
    super();
  }

  /** Starts the loop; `options` default to the flusher's (PURCHASE_FLUSH_BATCH_SIZE, PURCHASE_FLUSH_IN_FLIGHT). */
  start(pauseMs = 250, options?: FlushOptions): void {
    this.options = options;
    this.startLoop(pauseMs);
  }

  /**
   * Resolves once no flush pass is in progress, or after `maxWaitMs` (ms) at the latest; at once
   * between passes. Lets the outbox relay of this process start its passes between the flusher's.
   */
  async betweenPasses(maxWaitMs: number): Promise<void> {
    const pass = this.pass;
    if (!pass) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, maxWaitMs);
    });
    try {
      await Promise.race([pass, bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  protected async step(): Promise<boolean> {
    const pass = this.flushPass();
    this.pass = pass;
    try {
      return await pass;
    } finally {
      this.pass = undefined;
    }
  }

  private async flushPass(): Promise<boolean> {
    try {
      const written = await this.flusher.flushOnce(this.options);
      this.flushed.inc(written);
      this.failures.succeeded();
      return written > 0;
    } catch (error) {
      this.failedPasses.inc();
      this.failures.failed(describeFailure(error));
      return false;
    }
  }
}
