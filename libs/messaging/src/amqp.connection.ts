import { Logger } from '@nestjs/common';
import amqp, { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { Topology } from './topology';

/**
 * One RabbitMQ connection per process that reconnects on its own, with a confirm channel
 * that re-declares the topology on every reconnection.
 */
export class AmqpConnection {
  private readonly logger = new Logger('RabbitMQ');
  readonly connection: AmqpConnectionManager;
  readonly channel: ChannelWrapper;

  constructor(
    url: string,
    readonly topology: Topology,
    connectionName = 'boxoffice',
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
  }

  isConnected(): boolean {
    return this.connection.isConnected();
  }

  /** Publishes persistently and resolves only once the broker confirmed the message. */
  async publish(
    routingKey: string,
    message: object,
    options: { messageId?: string; timeoutMs?: number } = {},
  ): Promise<void> {
    await this.channel.publish(this.topology.eventsExchange, routingKey, message, {
      persistent: true,
      contentType: 'application/json',
      messageId: options.messageId,
      timeout: options.timeoutMs ?? 5000,
    });
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
