import type { ConfirmChannel } from 'amqplib';

/** Names of every exchange and queue, derived from one namespace. */
export class Topology {
  constructor(readonly namespace: string) {}

  get eventsExchange(): string {
    return `${this.namespace}.events`;
  }
  get deadExchange(): string {
    return `${this.namespace}.dead`;
  }
  get purchaseCompletedQueue(): string {
    return `${this.namespace}.purchase-completed`;
  }
  /** Messages wait here for their backoff (per-message TTL), then go back to the main queue. */
  get purchaseCompletedRetryQueue(): string {
    return `${this.namespace}.purchase-completed.retry`;
  }
  /** Messages that failed too often are parked here for a person to look at. */
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

    await channel.assertQueue(this.purchaseCompletedRetryQueue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': this.eventsExchange,
        'x-dead-letter-routing-key': ROUTING.purchaseCompleted,
      },
    });

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
      this.purchaseCompletedRetryQueue,
      this.purchaseCompletedDeadQueue,
    ]) {
      await channel.deleteQueue(queue);
    }
    await channel.deleteExchange(this.eventsExchange);
    await channel.deleteExchange(this.deadExchange);
  }
}

export const ROUTING = {
  purchaseCompleted: 'purchase.completed',
} as const;
