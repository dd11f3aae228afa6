import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@app/config';
import { PollingLoop, RepeatedFailureLog } from '@app/core';
import { SeatReconciler } from '@app/ticketing';
import { PurchaseFlushLoop } from './purchase-flush.loop';

/**
 * Runs the seat reconciler every SEAT_RECONCILE_INTERVAL_SECONDS: one pass over every registered
 * performance, each repair logged and counted by the reconciler. Any number of batch processes may
 * run it at once (every repair is checked again in one script). Stopping waits for the pass.
 *
 * Each performance's pass starts between two of this process's flush passes: it waits for the
 * flush pass in progress to end, at most one interval in all per reconcile pass (so under a
 * backlog that never clears a pass still starts at least every two intervals). A performance's
 * pass reads every entry of its purchase stream, all fields, and every seat PostgreSQL has sold;
 * run beside the flush of a backlog it read the backlog itself, on the cores the flush runs on
 * (~8 µs of the batch's and ~15 µs of PostgreSQL's CPU a flushed purchase, docs/performance.md,
 * "The seat reconciler beside the flush"). Once the flush pass ended those entries are gone from
 * the stream. Only the timing changes: every repair is still checked again against the state of
 * its moment (reconcile-seats.lua, the row locks of blocks).
 *
 * After Redis comes back (the client's `ready` after a lost connection: a restart, a restore, a
 * network cut) a pass starts at once rather than at the end of the pause: a Redis that lost writes
 * (an AOF older than its last answers, a copy restored by mistake, README "Backup and restore")
 * shows seats PostgreSQL has sold as free, and every second before the pass is a second in which
 * they can be sold again. On a Redis Cluster the client's `ready` comes only when the whole cluster
 * was lost; a failover is left to the regular passes (its sales waited for a replica,
 * REDIS_WAIT_REPLICAS).
 */
@Injectable()
export class SeatReconcileLoop extends PollingLoop {
  private readonly logger = new Logger(SeatReconcileLoop.name);
  // While Redis or PostgreSQL is down every pass fails the same way; say it once (then every 30 s, with a count).
  private readonly failures = new RepeatedFailureLog((message) =>
    this.logger.warn(`seat reconciliation failed: ${message}`),
  );
  /** The pause between passes (ms), also the most a pass waits for flush passes in all. */
  private intervalMs = 0;
  /** Whether the client was ready once since `start`: its next `ready` is a reconnection. */
  private connectedBefore = false;
  private readonly onReady = (): void => {
    if (this.connectedBefore) {
      this.logger.log('Redis is back: seat reconciliation runs now');
      this.runSoon();
    }
    this.connectedBefore = true;
  };

  constructor(
    private readonly reconciler: SeatReconciler,
    @Inject(Env) private readonly env: Env,
    private readonly flushLoop: PurchaseFlushLoop,
    private readonly redis: Redis,
  ) {
    super();
  }

  /** `pauseMs`: milliseconds between passes; SEAT_RECONCILE_INTERVAL_SECONDS by default. */
  start(pauseMs = this.env.SEAT_RECONCILE_INTERVAL_SECONDS * 1000): void {
    this.intervalMs = pauseMs;
    this.connectedBefore = this.redis.status === 'ready';
    this.redis.off('ready', this.onReady);
    this.redis.on('ready', this.onReady);
    this.startLoop(pauseMs);
  }

  async stop(): Promise<void> {
    this.redis.off('ready', this.onReady);
    await super.stop();
  }

  protected async step(): Promise<boolean> {
    const yieldUntil = Date.now() + this.intervalMs;
    // Before each performance: the flush pass in progress ends first (within what is left of the
    // interval); a stop requested meanwhile ends the pass (the rest wait for the next start).
    const pace = async (): Promise<boolean> => {
      const left = yieldUntil - Date.now();
      if (left > 0) await this.flushLoop.betweenPasses(left);
      return !this.stopRequested;
    };
    try {
      await this.reconciler.reconcileOnce(pace);
      this.failures.succeeded();
    } catch (error) {
      this.failures.failed(error instanceof Error ? error.message : String(error));
    }
    // A whole pass per pause, whatever it found: the next one starts from a fresh snapshot.
    return false;
  }
}
