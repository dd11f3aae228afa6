import { randomUUID } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Env, parseEnv } from '@app/config';
import { PurchaseRepository, PurchaseStatus } from '@app/database';
import { AmqpConnection, OutboxRelay, purchaseCompletedMessageId, topologyOf } from '@app/messaging';
import { createTestEnv, destroyTestEnv, TestEnv, waitUntil } from '@app/testing';
import { dataSourceOf, inspectBroker, startRelay } from '../../mailer/test/mail-harness';
import { seedPerformance, seedPurchases, unpublishedCount } from '../../mailer/test/purchase-fixture';
import { OutboxRelayLoop } from '../src/loops/outbox-relay.loop';

describe('outbox relay (real PostgreSQL and RabbitMQ)', () => {
  let env: TestEnv;
  let relays: INestApplicationContext[] = [];
  let db: DataSource;
  let broker: Awaited<ReturnType<typeof inspectBroker>>;

  beforeAll(async () => {
    env = await createTestEnv();
    // The first relay creates and migrates the database; the second joins it.
    relays = [await startRelay(env)];
    relays.push(await startRelay(env));
    db = dataSourceOf(relays[0]);
    broker = await inspectBroker(topologyOf(parseEnv(env)));
  });
  afterAll(async () => {
    await broker?.close();
    for (const relay of relays) await relay.close();
    await destroyTestEnv(env);
  });

  it('two relays at once publish every row exactly once and delete it', async () => {
    const performanceId = await seedPerformance(db, 300);
    const purchases = await seedPurchases(db, performanceId, 300);
    // Every row deleted: each one's message was confirmed by the broker.
    await waitUntil(async () => (await unpublishedCount(db)) === 0, 'outbox published', 60_000);

    const queue = topologyOf(parseEnv(env)).purchaseCompletedQueue;
    const messages = await broker.drain(queue);
    // Exactly once: neither relay published a row the other had (nor one of its own twice).
    expect(messages).toHaveLength(300);
    const ids = messages.map((m) => m.properties.messageId as string);
    expect(new Set(ids).size).toBe(300);
    expect(new Set(ids)).toEqual(new Set(purchases.map((p) => p.messageId)));
    expect(
      messages.filter((m) => m.properties.deliveryMode !== 2).map((m) => m.properties.messageId),
      'messages not persistent',
    ).toEqual([]);
  });
});

/**
 * Single passes of one relay, its loop stopped, so each pass is the test's own: what a pass deletes,
 * what it keeps, and what a crash between the broker's confirms and the delete's commit leaves.
 */
describe('an outbox relay pass (real PostgreSQL and RabbitMQ)', () => {
  let env: TestEnv;
  let app: INestApplicationContext;
  let relay: OutboxRelay;
  let db: DataSource;
  let broker: Awaited<ReturnType<typeof inspectBroker>>;
  let queue: string;

  /** The outbox as rows of message id and attempts, by message id. */
  const outbox = async (): Promise<{ message_id: string; attempts: number }[]> =>
    db.query('SELECT message_id, attempts FROM outbox ORDER BY message_id');
  /** Message ids taken off the purchase-completed queue, sorted. */
  const queued = async (): Promise<string[]> =>
    (await broker.drain(queue)).map((m) => m.properties.messageId as string).sort();

  beforeAll(async () => {
    env = await createTestEnv();
    app = await startRelay(env);
    await app.get(OutboxRelayLoop).stop();
    relay = app.get(OutboxRelay);
    db = dataSourceOf(app);
    // The exchange exists once the relay's channel has declared the topology.
    await app.get(AmqpConnection).channel.waitForConnect();
    const topology = topologyOf(parseEnv(env));
    queue = topology.purchaseCompletedQueue;
    broker = await inspectBroker(topology);
  });
  afterAll(async () => {
    await broker?.close();
    await app?.close();
    await destroyTestEnv(env);
  });

  it('deletes the rows the broker confirmed and keeps, its try counted, a row the broker refused', async () => {
    const performanceId = await seedPerformance(db, 3);
    const purchases = await seedPurchases(db, performanceId, 3);
    // A queue that takes nothing: with `reject-publish` the broker answers a message routed to it
    // with a negative confirm. Exclusive, so it goes with the test's connection.
    const { queue: full } = await broker.channel.assertQueue('', {
      exclusive: true,
      arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    await broker.channel.bindQueue(full, topologyOf(parseEnv(env)).eventsExchange, 'test.refused');
    await db.query(
      `INSERT INTO outbox (message_id, routing_key, payload) VALUES ('test-refused:1', 'test.refused', '{}')`,
    );

    const result = await relay.relayOnce(10);
    expect(result).toEqual({ published: 3, failed: 1, error: expect.any(String) });
    expect(await outbox()).toEqual([{ message_id: 'test-refused:1', attempts: 1 }]);
    expect(await queued()).toEqual(purchases.map((p) => p.messageId).sort());

    // Refused again on the next pass, and counted again; still nothing else left to publish.
    expect(await relay.relayOnce(10)).toMatchObject({ published: 0, failed: 1 });
    expect(await outbox()).toEqual([{ message_id: 'test-refused:1', attempts: 2 }]);
    await db.query(`DELETE FROM outbox WHERE message_id = 'test-refused:1'`);
  });

  it('publishes the rows again after a crash between the confirms and the commit of the delete', async () => {
    const performanceId = await seedPerformance(db, 2);
    const purchases = await seedPurchases(db, performanceId, 2);
    const ids = purchases.map((p) => p.messageId).sort();
    // The pass's transaction ends after the broker confirmed and before its delete commits, as a
    // killed process or a lost connection would end it: PostgreSQL rolls the pass back.
    await db.query(`CREATE FUNCTION test_relay_crash() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN RAISE EXCEPTION 'relay crashed before its delete committed'; END $$`);
    await db.query(
      'CREATE TRIGGER test_relay_crash BEFORE DELETE ON outbox FOR EACH STATEMENT EXECUTE FUNCTION test_relay_crash()',
    );
    try {
      await expect(relay.relayOnce(10)).rejects.toThrow('relay crashed before its delete committed');
    } finally {
      await db.query('DROP TRIGGER test_relay_crash ON outbox');
      await db.query('DROP FUNCTION test_relay_crash()');
    }
    expect(await queued()).toEqual(ids);
    expect(await outbox()).toEqual(ids.map((message_id) => ({ message_id, attempts: 0 })));

    // At least once: the next pass publishes both again, with the same message ids (the mailer
    // sends nothing twice for them: mail-delivery e2e), and deletes them.
    expect(await relay.relayOnce(10)).toEqual({ published: 2, failed: 0, error: undefined });
    expect(await queued()).toEqual(ids);
    expect(await outbox()).toEqual([]);
  });

  it('writes no message again when a flush is replayed after its message was relayed and deleted', async () => {
    const performanceId = await seedPerformance(db, 1);
    const [seat] = await db.query('SELECT id FROM seats WHERE performance_id = $1 ORDER BY position LIMIT 1', [
      performanceId,
    ]);
    const [user] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash) VALUES ($1::varchar, $1, 'Replay', 'not-a-hash') RETURNING id`,
      [`replay-${randomUUID()}@example.test`],
    );
    const purchase = {
      id: randomUUID(),
      reservationId: randomUUID(),
      userId: user.id as string,
      performanceId,
      seatIds: [seat.id as number],
      amount: 1050,
      currency: 'KRW',
      chargeId: 'replay-charge',
      status: PurchaseStatus.Paid,
      createdAt: new Date(),
      canceledAt: null,
    };
    const write = () =>
      app
        .get(PurchaseRepository)
        .writeBatch(
          { purchases: [purchase], cancellations: [] },
          { statementTimeoutMs: app.get(Env).PURCHASE_BATCH_STATEMENT_TIMEOUT_MS },
        );
    expect(await write()).toEqual([purchase.id]);
    expect(await relay.relayOnce(10)).toMatchObject({ published: 1, failed: 0 });
    expect(await queued()).toEqual([purchaseCompletedMessageId(purchase.id)]);

    // The flusher writes the same batch again (its acknowledgement was lost): nothing new.
    expect(await write()).toEqual([]);
    expect(await outbox()).toEqual([]);
    expect(await relay.relayOnce(10)).toEqual({ published: 0, failed: 0 });
  });
});
