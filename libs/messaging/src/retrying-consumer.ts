import { Logger } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { AmqpConnection, PUBLISH_CONFIRM_TIMEOUT_MS } from './amqp.connection';
import { MalformedMessageError } from './contracts/purchase-completed';
import { RetryPolicy } from './retry-policy';

/** Failed tries of a message so far, carried from one retry copy to the next. */
export const ATTEMPTS_HEADER = 'x-attempts';
/** Why the last try failed (on retry copies and on dead-lettered messages). */
export const LAST_ERROR_HEADER = 'x-last-error';
/**
 * The routing key the message was first published with on the events exchange (on retry copies
 * and on dead-lettered messages): a retry copy comes back to its queue by the queue's name, and a
 * parked one is on the dead exchange under its queue's key (`purchase.completed`, `mail.bulk`), so
 * this is the key to publish a parked message back to `<ns>.events` with. Set from the delivery's
 * routing key on the first copy and carried unchanged on every later one.
 */
export const ORIGINAL_ROUTING_KEY_HEADER = 'x-original-routing-key';

export interface RetryingConsumerOptions {
  /** Queue to consume. */
  queue: string;
  /** Queue a retry copy waits in for `delayMs` before it goes back to `queue`. */
  retryQueue: (delayMs: number) => string;
  /** Where messages that cannot be handled are parked. */
  deadLetter: { exchange: string; routingKey: string };
  /** Unacknowledged messages handled at once. */
  prefetch: number;
  /** Told what became of each message the handler failed (for metrics). */
  onFailure?: (fate: 'retried' | 'dead-lettered') => void;
  /**
   * Longest wait (ms) for the broker to confirm a retry or dead-letter copy; then the original is
   * handed back (nack) and the consumer goes on. PUBLISH_CONFIRM_TIMEOUT_MS unless given.
   */
  confirmTimeoutMs?: number;
}

/**
 * Consumes a queue with manual acknowledgements and decides, in this one place, what becomes of
 * each message: handled → ack; {@link MalformedMessageError} → dead-letter at once; any other
 * failure → a copy goes to the retry queue of the policy's next wait (per-message TTL) with the
 * attempt count in a header, or to the dead-letter exchange once the tries are used up. The copy
 * is confirmed by the broker before the original is acknowledged, so a crash in between at
 * worst delivers the message twice: handlers must be idempotent.
 */
export class RetryingConsumer {
  private readonly logger = new Logger(RetryingConsumer.name);
  private readonly channel: ChannelWrapper;
  private readonly inFlight = new Set<Promise<void>>();
  /** Bumped on every (re)connection: a delivery tag is only valid on the channel that gave it. */
  private channelGeneration = 0;
  private consuming = false;
  private stopping = false;

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly policy: RetryPolicy,
    private readonly options: RetryingConsumerOptions,
    private readonly handle: (message: ConsumeMessage) => Promise<void>,
  ) {
    this.channel = amqp.connection.createChannel({
      name: `consumer:${options.queue}`,
      confirm: true,
      // Every publish of this channel (retry and dead-letter copies): without a bound, a copy
      // whose confirm never comes (a stalled broker) or that waits for a reconnection keeps its
      // message in hand, and stop() waiting for it, for ever.
      publishTimeout: options.confirmTimeoutMs ?? PUBLISH_CONFIRM_TIMEOUT_MS,
      // Runs on every new channel before its consumers start, so no delivery sees the old generation.
      // The prefetch is set here, awaited, and not as a consume option: the wrapper sends that one
      // without awaiting it, and a channel closed before its reply rejects it unhandled.
      setup: async (channel: ConfirmChannel) => {
        this.channelGeneration += 1;
        await amqp.topology.declare(channel);
        await channel.prefetch(options.prefetch);
      },
    });
    this.channel.on('error', (error: Error) => {
      if (!this.stopping) this.logger.warn(`consumer channel error: ${error.message}`);
    });
  }

  /** Messages being handled now (delivered, not yet acked, retried or dead-lettered). */
  get inHand(): number {
    return this.inFlight.size;
  }

  /** Starts consuming; also resumes by itself after every reconnection. */
  async start(): Promise<void> {
    if (this.consuming) return;
    this.consuming = true;
    await this.channel.consume(this.options.queue, (message) => this.track(this.process(message)), { noAck: false });
  }

  /**
   * Stops taking messages, waits for those being handled, then closes the channel. A channel
   * still being set up (stopped right after the start) is given the connection's setup grace (2 s
   * unless set) to finish first, so no call on it is cut off half-way. The cancel and the close
   * are waited for only while the connection is up, at most SHUTDOWN_STEP_TIMEOUT_MS each
   * ({@link AmqpConnection.shutdownStep}): a connection that drops meanwhile ended the consumer
   * already, and the broker hands the messages left unacknowledged to the next consumer.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.amqp.settle(this.channel);
    if (this.consuming) {
      this.consuming = false;
      await this.amqp.shutdownStep(this.channel.cancelAll());
      this.logger.log(`${this.options.queue}: taking no more messages; finishing ${this.inFlight.size} in hand`);
    }
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.amqp.shutdownStep(this.channel.close());
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async process(message: ConsumeMessage): Promise<void> {
    const generation = this.channelGeneration;
    const label = message.properties.messageId ?? `delivery ${message.fields.deliveryTag}`;
    try {
      await this.handle(message);
      this.settle(generation, () => this.channel.ack(message));
      return;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof MalformedMessageError) {
        this.options.onFailure?.('dead-lettered');
        this.logger.error(`${label}: ${reason}; parked in the dead-letter queue`);
        await this.deadLetter(message, generation, reason);
        return;
      }
      const failed = attemptsOf(message) + 1;
      const decision = this.policy.onFailure(failed);
      this.options.onFailure?.(decision.action === 'dead-letter' ? 'dead-lettered' : 'retried');
      if (decision.action === 'dead-letter') {
        this.logger.error(`${label}: failed ${failed} times (last: ${reason}); parked in the dead-letter queue`);
        await this.deadLetter(message, generation, reason);
        return;
      }
      this.logger.warn(`${label}: try ${failed} failed (${reason}); retrying in ${decision.delayMs} ms`);
      await this.retry(message, generation, decision.delayMs, failed, reason);
    }
  }

  private async retry(
    message: ConsumeMessage,
    generation: number,
    delayMs: number,
    failed: number,
    reason: string,
  ): Promise<void> {
    try {
      await this.channel.sendToQueue(this.options.retryQueue(delayMs), message.content, {
        ...copiedProperties(message, failed, reason),
        expiration: String(delayMs),
      });
      this.settle(generation, () => this.channel.ack(message));
    } catch (error) {
      // The copy is not confirmed: hand the original back to the queue instead.
      this.logger.warn(`retry copy not confirmed (${String(error)}); message requeued`);
      this.settle(generation, () => this.channel.nack(message, false, true));
    }
  }

  private async deadLetter(message: ConsumeMessage, generation: number, reason: string): Promise<void> {
    try {
      const { exchange, routingKey } = this.options.deadLetter;
      await this.channel.publish(
        exchange,
        routingKey,
        message.content,
        copiedProperties(message, attemptsOf(message) + 1, reason),
      );
      this.settle(generation, () => this.channel.ack(message));
    } catch {
      // Rejecting without requeue sends it through the queue's own dead-letter exchange.
      this.settle(generation, () => this.channel.nack(message, false, false));
    }
  }

  /**
   * Acks or nacks only on the channel that delivered the message: after a reconnection the
   * broker has already put it back, and an old delivery tag would close the new channel.
   */
  private settle(generation: number, action: () => void): void {
    if (generation !== this.channelGeneration) return;
    try {
      action();
    } catch (error) {
      this.logger.warn(`could not settle a message: ${String(error)}`);
    }
  }
}

function attemptsOf(message: ConsumeMessage): number {
  const value = Number(message.properties.headers?.[ATTEMPTS_HEADER] ?? 0);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/**
 * Headers the broker sets itself (dead-letter history, delivery count): not carried over; the
 * first routing key, which `x-death` holds, is carried in {@link ORIGINAL_ROUTING_KEY_HEADER}.
 */
const BROKER_HEADERS = ['x-death', 'x-first-death-', 'x-last-death-', 'x-delivery-count'];

function copiedProperties(message: ConsumeMessage, attempts: number, reason: string) {
  const headers = Object.fromEntries(
    Object.entries(message.properties.headers ?? {}).filter(
      ([name]) => !BROKER_HEADERS.some((b) => name.startsWith(b)),
    ),
  );
  const original = headers[ORIGINAL_ROUTING_KEY_HEADER];
  return {
    persistent: true,
    contentType: message.properties.contentType,
    messageId: message.properties.messageId,
    headers: {
      ...headers,
      [ORIGINAL_ROUTING_KEY_HEADER]: typeof original === 'string' ? original : message.fields.routingKey,
      [ATTEMPTS_HEADER]: attempts,
      [LAST_ERROR_HEADER]: reason.slice(0, 500),
    },
  };
}
