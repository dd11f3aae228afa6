import type { ConfirmChannel } from 'amqplib';
import { BULK_MAIL_ROUTING, ROUTING, URGENT_MAIL_ROUTING } from './contracts/routing';

export { BULK_MAIL_ROUTING, ROUTING, URGENT_MAIL_ROUTING };

/** Routing key on the dead exchange of the bulk mail queue's parked messages. */
const BULK_DEAD_ROUTING_KEY = 'mail.bulk';

/** The queues a {@link RetryingConsumer} reads, waits retries out in and parks failures through. */
export interface MailQueues {
  queue: string;
  retryQueue: (delayMs: number) => string;
  deadLetter: { exchange: string; routingKey: string };
}

/** Names of every exchange and queue, derived from one namespace. */
export class Topology {
  readonly retryDelaysMs: readonly number[];

  /** `retryDelaysMs`: every wait of the retry policy (`RetryPolicy.delaysMs`), one retry queue each. */
  constructor(
    readonly namespace: string,
    retryDelaysMs: readonly number[],
  ) {
    this.retryDelaysMs = [...new Set(retryDelaysMs)].sort((a, b) => a - b);
  }

  get eventsExchange(): string {
    return `${this.namespace}.events`;
  }
  get deadExchange(): string {
    return `${this.namespace}.dead`;
  }
  /**
   * The urgent mail queue: confirmations, a buyer's or an operator's cancellation of one purchase,
   * password resets, addresses to confirm ({@link URGENT_MAIL_ROUTING}). Its name is the one it had when it was the only
   * mail queue: a quorum queue cannot be renamed, and messages in it at an upgrade stay in it.
   */
  get purchaseCompletedQueue(): string {
    return `${this.namespace}.purchase-completed`;
  }
  /**
   * Messages wait here for their backoff (per-message TTL), then go back to the main queue. One
   * queue per wait: a queue expires messages only at its head, so a long wait must never sit in
   * front of a short one.
   */
  purchaseCompletedRetryQueue(delayMs: number): string {
    if (!this.retryDelaysMs.includes(delayMs)) throw new RangeError(`no retry queue for a wait of ${delayMs} ms`);
    return `${this.namespace}.purchase-completed.retry.${delayMs}ms`;
  }
  /**
   * The queues of the purchase-completed consumer (the `queue`, `retryQueue` and `deadLetter` of
   * RetryingConsumerOptions): it reads {@link purchaseCompletedQueue}, waits retries out in
   * {@link purchaseCompletedRetryQueue} and parks what fails for good through the dead exchange.
   */
  get purchaseCompletedConsumer(): MailQueues {
    return {
      queue: this.purchaseCompletedQueue,
      retryQueue: (delayMs) => this.purchaseCompletedRetryQueue(delayMs),
      deadLetter: { exchange: this.deadExchange, routingKey: ROUTING.purchaseCompleted },
    };
  }
  /** Messages that failed too often, or cannot be read, are parked here for a person to look at. */
  get purchaseCompletedDeadQueue(): string {
    return `${this.namespace}.purchase-completed.dead`;
  }

  /**
   * The bulk mail queue: the notices one operator action fans out to every buyer of a performance
   * ({@link BULK_MAIL_ROUTING}: new dates, the cancellation of a show). The mailer consumes it
   * beside the urgent queue, on a channel of its own with its own prefetch, so a backlog here never
   * delays a confirmation or a password reset.
   */
  get bulkMailQueue(): string {
    return `${this.namespace}.mail-bulk`;
  }
  /** Retry queues of the bulk mail queue, one per wait, as {@link purchaseCompletedRetryQueue}. */
  bulkMailRetryQueue(delayMs: number): string {
    if (!this.retryDelaysMs.includes(delayMs)) throw new RangeError(`no retry queue for a wait of ${delayMs} ms`);
    return `${this.namespace}.mail-bulk.retry.${delayMs}ms`;
  }
  /** Bulk notices that failed too often, or cannot be read, are parked here (dead exchange, key `mail.bulk`). */
  get bulkMailDeadQueue(): string {
    return `${this.namespace}.mail-bulk.dead`;
  }
  /** The queues of the bulk mail consumer, as {@link purchaseCompletedConsumer} for the urgent one. */
  get bulkMailConsumer(): MailQueues {
    return {
      queue: this.bulkMailQueue,
      retryQueue: (delayMs) => this.bulkMailRetryQueue(delayMs),
      deadLetter: { exchange: this.deadExchange, routingKey: BULK_DEAD_ROUTING_KEY },
    };
  }

  /**
   * Declares everything; idempotent, run on every (re)connection of every process. Also removes
   * the bindings of the bulk routing keys from the urgent queue, which every version before the
   * bulk queue made: bindings outlive the processes that declared them, and left in place they
   * would copy every bulk notice into the urgent queue too. `unbindQueue` of a binding that is not
   * there succeeds, so this costs nothing once done.
   *
   * The unbinding comes last, once the bulk queue, its retry and dead-letter queues and its
   * bindings all exist: on a broker an earlier version set up, a bulk notice an old `batch`
   * relays meanwhile always matches a queue (the urgent one until the bulk one is bound, both for a
   * moment, the bulk one after). Unbound first, it would match none and be dropped, confirmed.
   */
  async declare(channel: ConfirmChannel): Promise<void> {
    await channel.assertExchange(this.eventsExchange, 'topic', { durable: true });
    await channel.assertExchange(this.deadExchange, 'direct', { durable: true });

    await this.declareMailQueue(channel, this.purchaseCompletedConsumer, {
      routingKey: ROUTING.purchaseCompleted,
      deadQueue: this.purchaseCompletedDeadQueue,
      bound: URGENT_MAIL_ROUTING,
    });
    await this.declareMailQueue(channel, this.bulkMailConsumer, {
      routingKey: BULK_DEAD_ROUTING_KEY,
      deadQueue: this.bulkMailDeadQueue,
      bound: BULK_MAIL_ROUTING,
    });
    for (const key of BULK_MAIL_ROUTING) {
      await channel.unbindQueue(this.purchaseCompletedQueue, this.eventsExchange, key);
    }
  }

  /**
   * One mail queue (quorum), bound to `bound` on the events exchange; its retry queues, whose
   * expired messages go straight back to it (default exchange), not to every queue bound to their
   * routing key; and its dead-letter queue, bound on the dead exchange by `routingKey` (which the
   * queue's own dead-lettering uses too).
   */
  private async declareMailQueue(
    channel: ConfirmChannel,
    queues: MailQueues,
    options: { routingKey: string; deadQueue: string; bound: readonly string[] },
  ): Promise<void> {
    await channel.assertQueue(queues.queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': this.deadExchange,
        'x-dead-letter-routing-key': options.routingKey,
      },
    });
    for (const key of options.bound) await channel.bindQueue(queues.queue, this.eventsExchange, key);

    for (const delayMs of this.retryDelaysMs) {
      await channel.assertQueue(queues.retryQueue(delayMs), {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': queues.queue,
        },
      });
    }

    await channel.assertQueue(options.deadQueue, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    await channel.bindQueue(options.deadQueue, this.deadExchange, options.routingKey);
  }

  /** Deletes everything (tests only). */
  async destroy(channel: ConfirmChannel): Promise<void> {
    for (const queue of [
      this.purchaseCompletedQueue,
      ...this.retryDelaysMs.map((delayMs) => this.purchaseCompletedRetryQueue(delayMs)),
      this.purchaseCompletedDeadQueue,
      this.bulkMailQueue,
      ...this.retryDelaysMs.map((delayMs) => this.bulkMailRetryQueue(delayMs)),
      this.bulkMailDeadQueue,
    ]) {
      await channel.deleteQueue(queue);
    }
    await channel.deleteExchange(this.eventsExchange);
    await channel.deleteExchange(this.deadExchange);
  }
}
