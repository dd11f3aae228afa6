import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigModule } from '@app/config';
import { StoreUnavailableError } from '@app/core';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, waitUntil } from '@app/testing';
import { OPERATOR_REDIS, PURCHASE_REDIS, RedisModule } from './redis.module';

describe('RedisModule', () => {
  let app: INestApplicationContext | undefined;
  let prefix = '';

  async function start(overrides: Record<string, string>): Promise<INestApplicationContext> {
    const env = createTestEnvWithoutDatabase(overrides);
    prefix = env.REDIS_KEY_PREFIX;
    const moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot(env), RedisModule] }).compile();
    app = await moduleRef.init();
    return app;
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await deleteRedisKeys(REDIS_URL, prefix);
  });

  it('opens no connection for sales when REDIS_WAIT_REPLICAS is 0: they use the main client', async () => {
    const started = await start({});
    expect(started.get(PURCHASE_REDIS)).toBe(started.get(Redis));
    expect(started.get(OPERATOR_REDIS)).toBe(started.get(Redis));
  });

  it("gives operators' changes a third client with REDIS_WAIT_REPLICAS: a WAIT there holds up neither the main client nor sales", async () => {
    const started = await start({ REDIS_WAIT_REPLICAS: '1' });
    const redis = started.get<Redis>(Redis);
    const sales = started.get<Redis>(PURCHASE_REDIS);
    const operators = started.get<Redis>(OPERATOR_REDIS);
    expect(new Set([redis, sales, operators]).size).toBe(3);
    expect(operators.status).toBe('wait');
    const id = await operators.client('ID');
    expect(String(await redis.client('LIST'))).toMatch(new RegExp(`^id=${id} .* name=boxoffice-operators `, 'm'));
    // The test Redis has no replica: this WAIT answers only at its timeout, while the others answer.
    let waited = false;
    const waiting = operators.wait(1, 3000).then((acked) => {
      waited = true;
      return acked;
    });
    expect(await redis.ping()).toBe('PONG');
    expect(await sales.ping()).toBe('PONG');
    expect(waited).toBe(false);
    expect(await waiting).toBe(0);
    await started.close();
    app = undefined;
    await waitUntil(() => operators.status === 'end', 'the operators client ended');
  });

  it('gives sales a client of their own with REDIS_WAIT_REPLICAS, connected at its first command, same prefix, quit on close', async () => {
    const started = await start({ REDIS_WAIT_REPLICAS: '1' });
    const redis = started.get<Redis>(Redis);
    const sales = started.get<Redis>(PURCHASE_REDIS);
    expect(sales).not.toBe(redis);
    expect(sales.status).toBe('wait');

    await sales.set('sold', 'yes');
    expect(await redis.get('sold')).toBe('yes');
    const id = await sales.client('ID');
    expect(String(await redis.client('LIST'))).toMatch(new RegExp(`^id=${id} .* name=boxoffice-purchases `, 'm'));

    await started.close();
    app = undefined;
    // QUIT answered; each connection ends once Redis has closed it.
    await waitUntil(() => redis.status === 'end' && sales.status === 'end', 'both clients ended');
  });

  it('bounds every command at REDIS_COMMAND_TIMEOUT_MS, a sales client’s at REDIS_WAIT_TIMEOUT_MS more: an unanswered command fails as Redis unavailable', async () => {
    const started = await start({
      REDIS_COMMAND_TIMEOUT_MS: '300',
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '400',
    });
    const redis = started.get<Redis>(Redis);
    const sales = started.get<Redis>(PURCHASE_REDIS);
    // The test Redis has no replicas: a WAIT for five answers only at its timeout.
    const error: unknown = await redis.wait(5, 2000).then(
      () => null,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).cause).toMatchObject({ message: 'Command timed out' });
    // The sales client waits out a WAIT of REDIS_WAIT_TIMEOUT_MS.
    expect(await sales.wait(5, 400)).toBe(0);
  });

  it('closes a sales client that never connected without connecting it', async () => {
    const started = await start({ REDIS_WAIT_REPLICAS: '1' });
    const sales = started.get<Redis>(PURCHASE_REDIS);
    await started.close();
    app = undefined;
    expect(sales.status).toBe('end');
  });
});
