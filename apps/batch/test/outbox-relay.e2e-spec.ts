import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { topologyOf } from '@app/messaging';
import { createTestEnv, destroyTestEnv, TestEnv, waitUntil } from '@app/testing';
import { dataSourceOf, inspectBroker, startRelay } from '../../mailer/test/mail-harness';
import { seedPerformance, seedPurchases, unpublishedCount } from '../../mailer/test/purchase-fixture';

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

  it('two relays at once publish every row exactly once', async () => {
    const performanceId = await seedPerformance(db, 300);
    const purchases = await seedPurchases(db, performanceId, 300);
    await waitUntil(async () => (await unpublishedCount(db)) === 0, 'outbox published', 60_000);

    const queue = topologyOf(parseEnv(env)).purchaseCompletedQueue;
    const messages = await broker.drain(queue);
    expect(messages).toHaveLength(300);
    const ids = messages.map((m) => m.properties.messageId as string);
    expect(new Set(ids).size).toBe(300);
    expect(new Set(ids)).toEqual(new Set(purchases.map((p) => p.messageId)));
    expect(
      messages.filter((m) => m.properties.deliveryMode !== 2).map((m) => m.properties.messageId),
      'messages not persistent',
    ).toEqual([]);
    const [row] = await db.query('SELECT max(attempts) AS most, min(attempts) AS least FROM outbox');
    expect(row).toEqual({ most: 1, least: 1 });
  });
});
