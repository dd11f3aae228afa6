import type { ConfirmChannel } from 'amqplib';
import { ROUTING } from './contracts/routing';

export { ROUTING };

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
  get purchaseCompletedConsumer(): {
    queue: string;
    retryQueue: (delayMs: number) => string;
    deadLetter: { exchange: string; routingKey: string };
  } {
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

  /** Declares everything; idempotent, run on every (re)connection. */
  async declare(channel: ConfirmChannel): Promise<void> {
    await channel.assertExchange(this.eventsExchange, 'topic', { durable: true });
    await channel.assertExchange(this.deadExchange, 'direct', { durable: true });

    await channel.assertQueue(this.purchaseCompletedQueue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': this.deadExchange,
        'x-dead-letter-routing-key': ROUTING.purchaseCompleted,
      },
    });
    await channel.bindQueue(this.purchaseCompletedQueue, this.eventsExchange, ROUTING.purchaseCompleted);
    await channel.bindQueue(this.purchaseCompletedQueue, this.eventsExchange, ROUTING.purchaseCanceled);
    await channel.bindQueue(this.purchaseCompletedQueue, this.eventsExchange, ROUTING.purchaseRescheduled);
    await channel.bindQueue(this.purchaseCompletedQueue, this.eventsExchange, ROUTING.passwordReset);

    for (const delayMs of this.retryDelaysMs) {
      // Expired messages go straight back to the main queue (default exchange), not to every
      // queue bound to the routing key.
      await channel.assertQueue(this.purchaseCompletedRetryQueue(delayMs), {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': this.purchaseCompletedQueue,
        },
      });
    }

    await channel.assertQueue(this.purchaseCompletedDeadQueue, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    await channel.bindQueue(this.purchaseCompletedDeadQueue, this.deadExchange, ROUTING.purchaseCompleted);
  }

  /** Deletes everything (tests only). */
  async destroy(channel: ConfirmChannel): Promise<void> {
    for (const queue of [
      this.purchaseCompletedQueue,
      ...this.retryDelaysMs.map((delayMs) => this.purchaseCompletedRetryQueue(delayMs)),
      this.purchaseCompletedDeadQueue,
    ]) {
      await channel.deleteQueue(queue);
    }
    await channel.deleteExchange(this.eventsExchange);
    await channel.deleteExchange(this.deadExchange);
  }
}
