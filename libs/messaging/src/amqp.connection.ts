import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import amqp, { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { Topology } from './topology';

/** A message for {@link AmqpConnection.publishAll}. */
export interface OutgoingMessage {
  routingKey: string;
  /** The body: JSON, encoded as UTF-8. */
  content: Buffer;
  /** The AMQP `messageId` property (the consumer's key for dropping a repeat). */
  messageId?: string;
}

/** Longest wait at shutdown for a topology declaration in progress to finish, in milliseconds. */
const SETUP_GRACE_MS = 2000;

/**
 * Longest wait, in milliseconds, for the broker's answer to one step of a shutdown (a consumer's
 * cancel, a channel's or the connection's close) while the connection stays up; a step whose
 * connection drops is not waited for at all (see {@link AmqpConnection.shutdownStep}).
 */
export const SHUTDOWN_STEP_TIMEOUT_MS = 2000;

/**
 * Longest wait, in milliseconds, for the broker to confirm a publish (the outbox relay's, a
 * consumer's retry or dead-letter copy), counted from the call: a publish queued while the
 * broker is unreachable, or one whose confirm a stalled broker never sends, is rejected then, so
 * the loop that awaits it goes on.
 */
export const PUBLISH_CONFIRM_TIMEOUT_MS = 5000;

/**
 * The AMQP heartbeat asked of the broker, in seconds (the broker's own, RabbitMQ's 60 s, is lower
 * bounded by it: the smaller wins). Each side sends a frame every half of it while idle, and
 * amqplib drops a connection that heard nothing for two to three of them, so a half-open
 * connection (a proxy or network that froze both ways: no reset, no close) reads disconnected
 * within 15 s: readiness turns `degraded` and the relay's publishes stop waiting on it. At 10 s a
 * frozen connection read up for 20 to 30 s (a chaos trial saw readiness say "up" while the relay's
 * confirms timed out). Not shorter: an event loop blocked for two intervals would drop a sound one.
 */
export const AMQP_HEARTBEAT_SECONDS = 5;

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
   * The wrapper's current confirm channel once it has declared the topology; unset while
   * (re)connecting and once it closed. `publishAll` publishes on it directly.
   */
  private publisher?: ConfirmChannel;
  /**
   * Per confirm channel, the message ids of {@link publishAll}'s messages the broker returned
   * (matched no queue) whose confirm has not come yet, with how many of each.
   */
  private readonly returned = new WeakMap<ConfirmChannel, Map<string, number>>();

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
      heartbeatIntervalInSeconds: AMQP_HEARTBEAT_SECONDS,
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
      confirm: true,
      setup: async (channel: ConfirmChannel) => {
        let open = true;
        channel.once('close', () => {
          open = false;
          if (this.publisher === channel) this.publisher = undefined;
        });
        const returned = new Map<string, number>();
        this.returned.set(channel, returned);
        // A mandatory message no queue takes comes back, before its confirm (which follows it).
        channel.on('return', (message: ConsumeMessage) => {
          const { messageId } = message.properties;
          this.logger.warn(
            `rabbitmq returned a message no queue takes: routing key ${message.fields.routingKey}, message ${messageId ?? '(no id)'}`,
          );
          if (typeof messageId === 'string') returned.set(messageId, (returned.get(messageId) ?? 0) + 1);
        });
        await topology.declare(channel);
        if (open) this.publisher = channel;
      },
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
   * half-way. Returns at once while the broker is unreachable, and as soon as the connection drops
   * (the wrapper would finish its setup only on a reconnection).
   */
  async settle(channel: ChannelWrapper): Promise<void> {
    await this.whileConnected(channel.waitForConnect(), this.setupGraceMs);
  }

  /**
   * Waits for `step`, a shutdown step on the broker (cancelling a consumer, closing a channel or
   * the connection), at most {@link SHUTDOWN_STEP_TIMEOUT_MS} and only while the connection is up:
   * at once when it is down already, and the moment it drops. amqplib settles a close only when
   * the broker's close-ok comes, so a close whose connection dropped would wait for ever, and
   * amqp-connection-manager's channel calls wait for a reconnection; neither may hold up a
   * shutdown. Nothing is lost by not waiting: the broker hands the messages a consumer did not
   * acknowledge to another one when the connection ends, and the mailer records each e-mail it
   * sent, so the redelivery sends nothing twice (P5). `step`'s rejection is swallowed.
   */
  async shutdownStep(step: Promise<unknown>): Promise<void> {
    await this.whileConnected(step, SHUTDOWN_STEP_TIMEOUT_MS);
  }

  /** Waits for `work` while connected, at most `timeoutMs`; never rejects. */
  private async whileConnected(work: Promise<unknown>, timeoutMs: number): Promise<void> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    // amqplib's connection beneath the manager's (an EventEmitter, typed without its events): the
    // manager drops its own listeners of the connection's end when it closes it, so its
    // `disconnect` does not come for that step, while this one's `close` does.
    const current: unknown = this.connection.connection?.connection;
    if (!(current instanceof EventEmitter)) return;
    let dropped = (): void => undefined;
    const lost = new Promise<void>((resolve) => (dropped = resolve));
    current.once('close', dropped);
    try {
      await Promise.race([settled, lost, delay(timeoutMs, undefined, { ref: false })]);
    } finally {
      current.off('close', dropped);
    }
  }

  /**
   * Publishes one message (`message` serialised as JSON) as {@link publishAll} does; resolves once
   * the broker confirmed it, rejects with why not (`timeout` when no confirm came within
   * `timeoutMs`, PUBLISH_CONFIRM_TIMEOUT_MS unless given).
   */
  async publish(
    routingKey: string,
    message: object,
    options: { messageId?: string; timeoutMs?: number } = {},
  ): Promise<void> {
    const content = Buffer.from(JSON.stringify(message));
    const [failure] = await this.publishAll([{ routingKey, content, messageId: options.messageId }], options.timeoutMs);
    if (failure) throw failure;
  }

  /**
   * Publishes `messages` in order to the events exchange, persistently, on the confirm channel, and
   * resolves once the broker answered every one or `timeoutMs` (PUBLISH_CONFIRM_TIMEOUT_MS unless
   * given) passed since the call: one entry per message, `null` when the broker confirmed it, else
   * why not (`message nacked`, `channel closed`, `timeout`: no confirm in time, or no channel ready
   * in time while the connection is being made; `unroutable`: no queue is bound to its routing
   * key). Never rejects.
   *
   * Each message is `mandatory`: one that matches no queue (a routing key bound nowhere, as in a
   * topology change's gap) the broker returns, then confirms all the same; a message with a
   * `messageId` it returned is reported `unroutable`, not confirmed, so the relay keeps its row
   * and publishes it again. amqplib emits the channel's `return` before the confirm of the same
   * message (the broker sends basic.return before basic.ack, on one channel, in order), and the
   * two are matched by message id, since confirms may come out of order. A message without an id
   * that no queue takes is only logged.
   *
   * On the amqplib channel itself, not through the wrapper's `publish`: that one costs each message
   * a promise, a timer, a queue entry and a search of the unconfirmed list (docs/performance.md,
   * flush seventh slice); here a call costs one timer and one promise. Not queued across a
   * reconnection as the wrapper would: a message the channel lost is reported, and the caller
   * publishes it again. The caller bounds how many it passes at once (the relay: one pass's rows),
   * since amqplib buffers them all whatever the channel's high-water mark.
   */
  async publishAll(
    messages: readonly OutgoingMessage[],
    timeoutMs = PUBLISH_CONFIRM_TIMEOUT_MS,
  ): Promise<(Error | null)[]> {
    const deadline = Date.now() + timeoutMs;
    const timedOut = new Error('timeout');
    const outcomes: (Error | null)[] = messages.map(() => timedOut);
    if (messages.length === 0) return outcomes;
    const channel = this.publisher ?? (await this.readyPublisher(timeoutMs));
    if (channel === undefined) return outcomes;
    const returned = this.returned.get(channel);
    return new Promise((resolve) => {
      let unanswered = messages.length;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        resolve(outcomes);
      };
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      // A confirm after the bound changes nothing: the caller has its answer (`timeout`) already.
      const answered = (index: number, error: Error | null): void => {
        if (finished) return;
        outcomes[index] = error;
        unanswered -= 1;
        if (unanswered === 0) finish();
      };
      for (let index = 0; index < messages.length; index += 1) {
        const { routingKey, content, messageId } = messages[index];
        try {
          channel.publish(
            this.topology.eventsExchange,
            routingKey,
            content,
            { persistent: true, contentType: 'application/json', messageId, mandatory: true },
            (error) => {
              // Also after the bound, and on a channel's close, so a return is always forgotten.
              const back = wasReturned(returned, messageId);
              answered(index, error ?? (back ? unroutable(routingKey) : null));
            },
          );
        } catch (error) {
          // The channel is closing or closed: neither this message nor a later one went out.
          const reason = error instanceof Error ? error : new Error(String(error));
          for (let rest = index; rest < messages.length; rest += 1) answered(rest, reason);
          break;
        }
      }
    });
  }

  /** The confirm channel once the wrapper has one ready, waiting at most `timeoutMs`; else undefined. */
  private async readyPublisher(timeoutMs: number): Promise<ConfirmChannel | undefined> {
    await Promise.race([this.channel.waitForConnect(), delay(timeoutMs, undefined, { ref: false })]);
    return this.publisher;
  }

  /**
   * Closes the channel, then the connection, and stops reconnecting. A topology declaration still
   * in progress (the process is stopped right after it started) is given the setup grace to finish
   * first, so no call is cut off half-way; publishes not yet confirmed are reported failed to their
   * callers. Each close is waited for only while the connection is up, at most
   * SHUTDOWN_STEP_TIMEOUT_MS (see {@link shutdownStep}): a broker that drops or stalls meanwhile
   * delays a shutdown by seconds at most, never until it is back.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.settle(this.channel);
    await this.shutdownStep(this.channel.close());
    // The manager stops reconnecting at this call, whether or not its close is waited for.
    await this.shutdownStep(this.connection.close());
  }
}

/**
 * Whether the broker returned a message of id `messageId` whose confirm is the one just come;
 * forgets one such return.
 */
function wasReturned(returned: Map<string, number> | undefined, messageId: string | undefined): boolean {
  const count = messageId === undefined ? undefined : returned?.get(messageId);
  if (count === undefined || messageId === undefined) return false;
  if (count > 1) returned?.set(messageId, count - 1);
  else returned?.delete(messageId);
  return true;
}

function unroutable(routingKey: string): Error {
  return new Error(`unroutable: no queue is bound to routing key ${routingKey}`);
}
