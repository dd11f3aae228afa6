import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { createTestEnvWithoutDatabase, deleteTopology, RABBITMQ_URL, TcpProxy, waitUntil } from '@app/testing';
import { AmqpConnection } from './amqp.connection';
import { retryPolicyOf, topologyOf } from './messaging.module';
import { RetryingConsumer } from './retrying-consumer';

/** The calls on a channel that a start makes, after opening it: the topology, the consumer's. */
const CALLS = ['assertExchange', 'assertQueue', 'bindQueue', 'unbindQueue', 'prefetch', 'consume'] as const;

/** One call of a start. */
interface Step {
  /** Channels in the order they were opened: 0 the connection's own, 1 a consumer's. */
  channel: number;
  /** The call's place among its channel's calls; 0 opens the channel. */
  index: number;
  method: string;
}

const label = (step: Step) => `${step.channel}.${step.index} ${step.method}`;

interface StartRecord {
  steps: Step[];
  answered: Step[];
  /** Calls that got no answer, with why. */
  failed: { step: string; error: string }[];
}

/**
 * Watches the calls on the channels of `manager`'s connections: calls `onPending` the moment a
 * call was sent (its answer cannot have been read yet: that takes a turn of the event loop) and
 * `onClose` when a channel, or the connection itself (`undefined`), is being closed; records how
 * each call ended. A caller that ignored a call's promise still leaves its rejection unhandled.
 */
function watchStart(
  manager: AmqpConnectionManager,
  hooks: { onPending: (step: Step) => void; onClose: (channel: number | undefined) => void },
): StartRecord {
  const record: StartRecord = { steps: [], answered: [], failed: [] };
  function track<T>(step: Step, call: () => Promise<T>): Promise<T> {
    record.steps.push(step);
    const answer = new Promise<T>((resolve) => resolve(call())).then(
      (value) => {
        record.answered.push(step);
        return value;
      },
      (error: unknown) => {
        record.failed.push({ step: label(step), error: String(error) });
        throw error;
      },
    );
    hooks.onPending(step);
    return answer;
  }
  let opened = 0;
  // Before the channel wrappers hear of the connection, so their calls are the watched ones.
  manager.prependListener('connect', ({ connection }: { connection: ChannelModel }) => {
    const createConfirmChannel = connection.createConfirmChannel.bind(connection);
    const closeConnection = connection.close.bind(connection);
    connection.close = () => {
      hooks.onClose(undefined);
      return closeConnection();
    };
    connection.createConfirmChannel = () => {
      const number = opened++;
      let calls = 0;
      return track({ channel: number, index: calls++, method: 'open' }, createConfirmChannel).then((channel) => {
        const methods = channel as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
        for (const method of CALLS) {
          const original = methods[method].bind(channel);
          methods[method] = (...args) => track({ channel: number, index: calls++, method }, () => original(...args));
        }
        const closeChannel = channel.close.bind(channel);
        channel.close = () => {
          hooks.onClose(number);
          return closeChannel();
        };
        return channel as ConfirmChannel;
      });
    };
  });
  return record;
}

/** `publisher`: the connection of the api and batch processes; `mailer`: the same with a consumer on it. */
type Kind = 'publisher' | 'mailer';

/**
 * The grace (ms) of the rounds that let the call finish: what they check is that closing waits for
 * the declaration in progress, not that it ends within the 2 s of production, which a loaded
 * machine may exceed.
 */
const PATIENT_GRACE_MS = 60_000;

/** One start, stopped: what became of its calls. */
interface Round {
  steps: Step[];
  /** Whether the start got to the call it was to be stopped at. */
  reached: boolean;
  failed: StartRecord['failed'];
  /** Rejections that reached no handler while it started and stopped. */
  unhandled: string[];
  connected: boolean;
}

// The shutdown race of a process stopped the moment it says it started, its RabbitMQ channels
// maybe still opening or declaring the topology (apps/api/test/processes.e2e-spec.ts stops the
// built processes so, a few times): here each round stops a fresh start while one given call of
// it is in flight, for every call a start makes, deterministically.
describe('AMQP connection and consumer stopped during their start (real broker)', () => {
  const env = createTestEnvWithoutDatabase();
  // One retry queue: the calls of a start, seven retry queues or one, are the same calls.
  const config = parseEnv({ ...env, MAIL_MAX_ATTEMPTS: '2' });
  const topology = topologyOf(config);
  let proxy: TcpProxy;
  let steps: Record<Kind, Step[]>;

  /**
   * Starts what a process of `kind` starts, through the proxy, on a topology with one retry queue,
   * and stops it as the process does (the consumer, then the connection): once started when `stop`
   * is not given; before it connected; or the moment the call `stop.at` was sent. Every call of the
   * start comes after the consumer's start (the broker's answers are held until then), as when the
   * broker is slower to answer than the process to say it started. With `cutOff`, the broker's
   * answers are held from the call on until its channel (or the connection) is being closed, and
   * the grace for a declaration in progress is 0 ms: the call is cut off. Without, the grace is
   * {@link PATIENT_GRACE_MS}.
   */
  async function startAndStop(kind: Kind, stop?: { at: Step | 'before-connect'; cutOff: boolean }): Promise<Round> {
    const unhandled: string[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(String(reason));
    process.on('unhandledRejection', onUnhandled);
    proxy.hold();
    const connection = new AmqpConnection(
      `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      topology,
      `boxoffice-test-${env.RABBITMQ_NAMESPACE}`,
      stop?.cutOff ? 0 : PATIENT_GRACE_MS,
    );
    const consumer =
      kind === 'mailer'
        ? new RetryingConsumer(
            connection,
            retryPolicyOf(config),
            {
              ...topology.purchaseCompletedConsumer,
              prefetch: 4,
            },
            async () => undefined,
          )
        : undefined;
    const shutdown = async () => {
      await consumer?.stop();
      await connection.close();
    };
    const at = stop?.at;
    let stopped: Promise<void> | undefined;
    let reachedTarget: () => void = () => undefined;
    const reached = new Promise<boolean>((resolve) => (reachedTarget = () => resolve(true)));
    const record = watchStart(connection.connection, {
      onPending: (step) => {
        if (stopped || typeof at !== 'object' || label(step) !== label(at)) return;
        if (stop?.cutOff) proxy.hold();
        stopped = shutdown();
        reachedTarget();
      },
      onClose: (channel) => {
        if (stop?.cutOff && typeof at === 'object' && (channel === undefined || channel === at.channel)) {
          proxy.release();
        }
      },
    });
    await consumer?.start();
    if (at === 'before-connect') stopped = shutdown();
    proxy.release();
    if (at === undefined) {
      await connection.channel.waitForConnect();
      if (consumer) {
        await waitUntil(() => record.answered.some((step) => step.method === 'consume'), 'the consumer started');
      }
      stopped = shutdown();
    }
    const got = typeof at === 'object' ? await Promise.race([reached, delay(60_000, false, { ref: false })]) : true;
    await (stopped ?? shutdown());
    // A rejection is reported once the microtasks of its turn ran: two turns after the last answer.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onUnhandled);
    return { steps: record.steps, reached: got, failed: record.failed, unhandled, connected: connection.isConnected() };
  }

  beforeAll(async () => {
    // Two hundred starts and stops: their warnings and errors are worth reading, not their progress.
    Logger.overrideLogger(['warn', 'error']);
    proxy = await TcpProxy.create(Number(new URL(RABBITMQ_URL).port));
    const publisher = await startAndStop('publisher');
    const mailer = await startAndStop('mailer');
    // The mailer's own calls: those of its consumer's channel (its connection's are the publisher's).
    steps = { publisher: publisher.steps, mailer: mailer.steps.filter((step) => step.channel === 1) };
  });
  afterAll(async () => {
    await proxy.cut();
    await deleteTopology(RABBITMQ_URL, topology);
  });

  it('a start makes the calls the rounds stop at', () => {
    // The urgent mail queue is bound to eight routing keys (purchase completed, canceled, password
    // reset, e-mail verification, ticket transfer, account notice, e-mail change, payment refunded);
    // then its retry queue, its dead-letter queue and that one's binding. The bulk mail queue, bound
    // to the two bulk keys, then its retry and dead-letter queues. Last, the urgent queue unbound
    // from the two bulk keys (rescheduled, canceled with its performance), which earlier versions
    // bound to it.
    const topology = [
      'assertExchange',
      'assertExchange',
      'assertQueue',
      'bindQueue',
      'bindQueue',
      'bindQueue',
      'bindQueue',
      'bindQueue',
      'bindQueue',
      'bindQueue',
      'bindQueue',
      'assertQueue',
      'assertQueue',
      'bindQueue',
      'assertQueue',
      'bindQueue',
      'bindQueue',
      'assertQueue',
      'assertQueue',
      'bindQueue',
      'unbindQueue',
      'unbindQueue',
    ];
    expect(steps.publisher.map(label)).toEqual(
      ['open', ...topology].map((method, index) => label({ channel: 0, index, method })),
    );
    expect(steps.mailer.map(label)).toEqual(
      ['open', ...topology, 'prefetch', 'consume'].map((method, index) => label({ channel: 1, index, method })),
    );
  });

  // With a grace longer than any declaration, closing waits for it: no call is cut off.
  it.each(['publisher', 'mailer'] as const)(
    '%s: stopped while a call of its start is in flight, it lets the call finish and leaves nothing unhandled',
    async (kind) => {
      for (const step of steps[kind]) {
        const { reached, failed, unhandled, connected } = await startAndStop(kind, { at: step, cutOff: false });
        expect({ reached, failed, unhandled, connected }, label(step)).toEqual({
          reached: true,
          failed: [],
          unhandled: [],
          connected: false,
        });
      }
    },
  );

  // The broker's answers held past the grace (as on a machine too loaded to answer in time):
  // closing cuts the call off, and its rejection must reach a handler.
  it.each(['publisher', 'mailer'] as const)(
    '%s: stopped while a call of its start is in flight past the grace, it cuts the call off and leaves nothing unhandled',
    async (kind) => {
      for (const step of steps[kind]) {
        const { reached, failed, unhandled, connected } = await startAndStop(kind, { at: step, cutOff: true });
        const cutOff = failed.some((failure) => failure.step === label(step));
        expect({ reached, cutOff, unhandled, connected }, label(step)).toEqual({
          reached: true,
          cutOff: true,
          unhandled: [],
          connected: false,
        });
      }
    },
  );

  it.each(['publisher', 'mailer'] as const)(
    '%s: stopped before it connected, it leaves nothing unhandled',
    async (kind) => {
      const { failed, unhandled, connected } = await startAndStop(kind, { at: 'before-connect', cutOff: false });
      expect({ failed, unhandled, connected }).toEqual({ failed: [], unhandled: [], connected: false });
    },
  );
});
