import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import {
  amqpMethodsIn,
  createTestEnvWithoutDatabase,
  deleteTopology,
  RABBITMQ_URL,
  TcpProxy,
  waitUntil,
} from '@app/testing';
import { AmqpConnection, SHUTDOWN_STEP_TIMEOUT_MS } from './amqp.connection';
import { retryPolicyOf, topologyOf } from './messaging.module';
import { RetryingConsumer } from './retrying-consumer';

/**
 * The frames a stop sends, in order (AMQP 0-9-1 class and method ids): the consumer's cancel
 * (Basic.Cancel), its channel's close (Channel.Close), the connection's own channel's close, the
 * connection's close (Connection.Close).
 */
const STEPS = [
  { name: "the consumer's cancel", method: '60.30' },
  { name: "the consumer channel's close", method: '20.40' },
  { name: "the publisher channel's close", method: '20.40' },
  { name: "the connection's close", method: '10.50' },
] as const;

/** Longest a stop may take once its connection dropped (ms): it waits for no answer then. */
const STOP_AFTER_CUT_MS = 1500;

// A process stopped while its broker connection drops (the SRE trial: SIGTERM, then the connection
// cut 10 ms later): amqplib settles a cancel or a close only on the broker's answer, and the
// connection manager reconnects meanwhile, so a stop that awaited them waited for a reconnection.
// Here the proxy cuts the connection the moment each step of a stop is sent, in turn, and refuses
// new connections from then on (apps/api/test/processes-broker-cut.e2e-spec.ts does it to the
// built processes).
describe('AMQP consumer and connection stopped while the broker connection drops (real broker)', () => {
  const env = createTestEnvWithoutDatabase();
  const config = parseEnv(env);
  const topology = topologyOf(config);
  const proxies: TcpProxy[] = [];

  beforeAll(() => {
    // The drops' warnings and the reconnections' are expected here.
    Logger.overrideLogger(['error']);
  });
  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.cut()));
    await deleteTopology(RABBITMQ_URL, topology);
  });

  /**
   * A connection (named `name`) through a proxy of its own to the broker, with the mail consumer
   * on it, started and connected: what each scenario then stops.
   */
  async function startBehindProxy(name: string) {
    const proxy = await TcpProxy.create(Number(new URL(RABBITMQ_URL).port));
    proxies.push(proxy);
    const connection = new AmqpConnection(`amqp://guest:guest@127.0.0.1:${proxy.port}`, topology, name);
    const consumer = new RetryingConsumer(
      connection,
      retryPolicyOf(config),
      { ...topology.purchaseCompletedConsumer, prefetch: 4 },
      async () => undefined,
    );
    await consumer.start();
    await connection.settle(connection.channel);
    await waitUntil(() => connection.isConnected(), 'connected');
    return { proxy, connection, consumer };
  }

  it.each(STEPS.map((step, index) => ({ ...step, index })))(
    'cut at $name: the stop ends at once, closes the connection manager and reconnects no more',
    async ({ index }) => {
      const { proxy, connection, consumer } = await startBehindProxy('cut-test');
      // The stop's frames: once the index-th is sent, the connection is cut.
      const sent: string[] = [];
      const cut = proxy.cutWhenClientSends((chunk) => {
        for (const method of amqpMethodsIn(chunk)) {
          if (STEPS.some((step) => step.method === method)) sent.push(method);
        }
        return sent.length > index;
      });
      const stopped = (async () => {
        await consumer.stop();
        await connection.close();
      })();
      await Promise.race([cut, stopped]);
      expect(sent.slice(0, index + 1)).toEqual(STEPS.slice(0, index + 1).map((step) => step.method));
      const cutAt = Date.now();
      const done = await Promise.race([stopped.then(() => true), delay(STOP_AFTER_CUT_MS * 4, false)]);
      expect({ done, inTime: Date.now() - cutAt < STOP_AFTER_CUT_MS }).toEqual({ done: true, inTime: true });
      // Closed: no reconnection is scheduled, and none can be asked for. (Cut at its own close, the
      // manager still counts the connection as current: amqplib never settles that close.)
      expect(() => connection.connection.reconnect()).toThrow('cannot reconnect after close');
    },
  );

  // A broker that stalls instead (its answers held from the cancel on; the connection stays up
  // until the heartbeats give up on it, 20 s later): each step waits its bound and no more.
  it('a broker that stops answering at the cancel: the stop ends within the four steps’ bounds', async () => {
    const { proxy, connection, consumer } = await startBehindProxy('stall-test');
    // Never cuts: holds the broker's answers from the first frame of the stop on.
    void proxy.cutWhenClientSends((chunk) => {
      if (amqpMethodsIn(chunk).includes(STEPS[0].method)) proxy.hold();
      return false;
    });
    const startedAt = Date.now();
    await consumer.stop();
    await connection.close();
    const tookMs = Date.now() - startedAt;
    expect(tookMs).toBeGreaterThanOrEqual(SHUTDOWN_STEP_TIMEOUT_MS);
    expect(tookMs).toBeLessThan(4 * SHUTDOWN_STEP_TIMEOUT_MS + 4000);
    expect(() => connection.connection.reconnect()).toThrow('cannot reconnect after close');
  }, 30_000);
});
