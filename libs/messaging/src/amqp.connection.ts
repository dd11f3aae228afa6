import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import amqp, { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { Topology } from './topology';

/** Longest wait at shutdown for a topology declaration in progress to finish, in milliseconds. */
const SETUP_GRACE_MS = 2000;

/**
 * Longest wait, in milliseconds, for the broker to confirm a publish (the outbox relay's, a
 * consumer's retry or dead-letter copy), counted from the call: a publish queued while the
 * broker is unreachable, or one whose confirm a stalled broker never sends, is rejected then, so
 * the loop that awaits it goes on.
 */
export const PUBLISH_CONFIRM_TIMEOUT_MS = 5000;

/**
 * One RabbitMQ connection per process that reconnects on its own, with a confirm channel
 * that re-declares the topology on every reconnection.
 */
export class AmqpConnection {
  private readonly logger = new Logger('RabbitMQ');
  readonly connection: AmqpConnectionManager;
  readonly channel: ChannelWrapper;
  private closing = false;

  /**
   * `setupGraceMs`: the longest wait at shutdown for a channel still declaring the topology, in
   * milliseconds (see {@link settle}); tests shorten it to cut a declaration off deterministically.
   */
  constructor(
    url: string,
    readonly topology: Topology,
    connectionName = 'boxoffice',
    private readonly setupGraceMs = SETUP_GRACE_MS,
  ) {
    this.connection = amqp.connect([url], {
      heartbeatIntervalInSeconds: 10,
      reconnectTimeInSeconds: 1,
      connectionOptions: { clientProperties: { connection_name: connectionName } },
    });
    let lastError = '';
    this.connection.on('connect', () => {
      lastError = '';
      this.logger.log('rabbitmq connected');
    });
    this.connection.on('disconnect', ({ err }) => {
      if (err?.message !== lastError) this.logger.warn(`rabbitmq disconnected: ${err?.message ?? 'closed'}`);
      lastError = err?.message ?? '';
    });
    this.connection.on('connectFailed', ({ err }) => {
      if (err?.message !== lastError) this.logger.warn(`rabbitmq connect failed: ${err?.message}`);
      lastError = err?.message ?? '';
    });
    this.channel = this.connection.createChannel({
      json: true,
      confirm: true,
      setup: (channel: ConfirmChannel) => topology.declare(channel),
    });
    // The wrapper emits a failed setup (a topology call whose channel ended, at shutdown or on a
    // broker restart) as 'error'; unheard, that event becomes an unhandled rejection that kills
    // the process. A setup that failed runs again on the next connection.
    this.channel.on('error', (error: Error) => {
      if (!this.closing) this.logger.warn(`rabbitmq channel setup failed: ${error.message}`);
    });
  }

  isConnected(): boolean {
    return this.connection.isConnected();
  }

  /**
   * Waits, up to the setup grace (2 s unless given), for a channel of this connection that is
   * still being set up (declaring the topology) to finish, so closing it cuts no call off
   * half-way. Returns at once while the broker is unreachable.
   */
  async settle(channel: ChannelWrapper): Promise<void> {
    if (!this.connection.isConnected()) return;
    await Promise.race([channel.waitForConnect(), delay(this.setupGraceMs, undefined, { ref: false })]).catch(
      () => undefined,
    );
  }

  /**
   * Publishes persistently and resolves only once the broker confirmed the message; rejects
   * (`timeout`) when no confirm came within `timeoutMs` (PUBLISH_CONFIRM_TIMEOUT_MS unless given).
   */
  async publish(
    routingKey: string,
    message: object,
    options: { messageId?: string; timeoutMs?: number } = {},
  ): Promise<void> {
    await this.channel.publish(this.topology.eventsExchange, routingKey, message, {
      persistent: true,
      contentType: 'application/json',
      messageId: options.messageId,
      timeout: options.timeoutMs ?? PUBLISH_CONFIRM_TIMEOUT_MS,
    });
  }

  /**
   * Closes the channel, then the connection. A topology declaration still in progress (the
   * process is stopped right after it started) is given the setup grace to finish first, so no
   * call is cut off half-way; unsent and unconfirmed publishes are rejected to their callers.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.settle(this.channel);
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
