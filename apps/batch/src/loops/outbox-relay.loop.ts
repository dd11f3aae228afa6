import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';
import { AmqpConnection, OutboxRelay } from '@app/messaging';
import { PurchaseFlushLoop } from './purchase-flush.loop';

/** Outbox rows a relay pass locks, publishes and deletes at most. */
export const RELAY_BATCH_SIZE = 1000;

/**
 * Longest wait, in ms, of a relay pass for this process's flush pass in progress to end. While
 * the flusher writes a backlog (an on-sale's peak) the relay starts its passes between the
 * flusher's, so purchases reach PostgreSQL first and their e-mails follow; under a backlog that
 * never clears, the relay still runs a pass at least this often.
 */
export const RELAY_YIELD_MAX_MS = 1000;

/**
 * How long, in ms from the loop's start, an unconnected broker is taken for a connection still
 * being made rather than reported unreachable (the first connect takes milliseconds; a broker
 * that refuses it is reported by the connection's own "connect failed" warning at once).
 */
export const RELAY_CONNECT_GRACE_MS = 5000;

/**
 * Runs the relay again and again: at once while it finds a full batch, else after a pause.
 * Each pass starts between two of this process's flush passes (waiting at most
 * RELAY_YIELD_MAX_MS): relaying in the same process and on the same cores as a backlog's flush
 * took about half the batch's CPU and most of RabbitMQ's from it (docs/performance.md).
 * While RabbitMQ is unreachable it publishes nothing (the rows wait in PostgreSQL) and says so
 * once; when the connection is back it catches up.
 */
@Injectable()
export class OutboxRelayLoop extends PollingLoop {
  private readonly logger = new Logger(OutboxRelayLoop.name);
  // While a server is down every pass fails the same way: say it once (then every 30 s, with a count).
  private readonly problems = new RepeatedFailureLog((problem) => this.logger.warn(`outbox relay: ${problem}`));
  // Rows per pass. 1000 rather than 200: PostgreSQL's CPU per relayed message (lock, stamp, commit)
  // was ~20 % lower in isolated passes (docs/performance.md, flush sixth slice; the stamp is now a delete).
  private batchSize = RELAY_BATCH_SIZE;
  /** Epoch ms the loop started at (RELAY_CONNECT_GRACE_MS). */
  private startedAt = 0;
  /** Outbox messages the broker confirmed; in no registry until a process adds it. */
  readonly published = new Counter({
    name: 'boxoffice_outbox_published_total',
    help: 'Outbox messages published to RabbitMQ and confirmed',
    registers: [],
  });

  constructor(
    private readonly relay: OutboxRelay,
    private readonly amqp: AmqpConnection,
    private readonly flushLoop: PurchaseFlushLoop,
  ) {
    super();
  }

  start(pauseMs = 200, batchSize = RELAY_BATCH_SIZE): void {
    this.batchSize = batchSize;
    this.startedAt = Date.now();
    this.startLoop(pauseMs);
  }

  /** More is waiting after a full, fully confirmed batch. */
  protected async step(): Promise<boolean> {
    if (!this.amqp.isConnected()) {
      if (Date.now() - this.startedAt >= RELAY_CONNECT_GRACE_MS) {
        this.problems.failed('RabbitMQ is unreachable; outbox messages wait in PostgreSQL');
      }
      return false;
    }
    await this.flushLoop.betweenPasses(RELAY_YIELD_MAX_MS);
    // Stopped while waiting: no new pass (shutdown waits for the step in progress).
    if (this.stopRequested) return false;
    try {
      const result = await this.relay.relayOnce(this.batchSize);
      this.published.inc(result.published);
      if (result.failed > 0) {
        this.problems.failed(`${result.failed} messages not confirmed (${result.error})`);
        return false;
      }
      this.problems.succeeded(() => this.logger.log('outbox relay: publishing again'));
      return result.published === this.batchSize;
    } catch (error) {
      this.problems.failed(`pass failed: ${describeFailure(error)}`);
      return false;
    }
  }
}
