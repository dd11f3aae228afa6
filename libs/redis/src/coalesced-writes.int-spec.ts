import type { Socket } from 'node:net';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, TestEnv, waitUntil } from '@app/testing';
import { createRedis } from './redis.module';

/** Counts the socket writes the kernel gets (one `_write` or `_writev` call is one syscall) and the commands in them. */
function countWrites(socket: Socket): { calls: number; chunks: number } {
  const seen = { calls: 0, chunks: 0 };
  const target = socket as unknown as {
    _write: (...args: unknown[]) => void;
    _writev: (chunks: unknown[], ...rest: unknown[]) => void;
  };
  const write = target._write.bind(socket);
  const writev = target._writev.bind(socket);
  target._write = (...args) => {
    seen.calls += 1;
    seen.chunks += 1;
    write(...args);
  };
  target._writev = (chunks, ...rest) => {
    seen.calls += 1;
    seen.chunks += chunks.length;
    writev(chunks, ...rest);
  };
  return seen;
}

describe('coalesced Redis writes', () => {
  let env: TestEnv;
  let redis: Redis;

  beforeAll(async () => {
    env = createTestEnvWithoutDatabase();
    redis = createRedis(env, 'test-coalesced');
    await redis.ping();
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  it('sends the commands of one turn in one write, each answered in order', async () => {
    const writes = countWrites(redis.stream as Socket);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => redis.incrby('{c}:n', i + 1)));
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => ((i + 1) * (i + 2)) / 2));
    expect(writes).toEqual({ calls: 1, chunks: 50 });
    // A command of a later turn is a write of its own.
    expect(await redis.get('{c}:n')).toBe(String((50 * 51) / 2));
    expect(writes).toEqual({ calls: 2, chunks: 51 });
  });

  it('keeps coalescing on the new socket after a reconnect, and quits at once', async () => {
    const before = redis.stream;
    redis.disconnect(true);
    await waitUntil(() => redis.status === 'ready' && redis.stream !== before);
    const writes = countWrites(redis.stream as Socket);
    const answers = await Promise.all(Array.from({ length: 10 }, () => redis.ping()));
    expect(answers).toEqual(Array(10).fill('PONG'));
    expect(writes.calls).toBe(1);
    const other = createRedis(env, 'test-coalesced-quit');
    await other.set('{c}:q', '1');
    expect(await other.quit()).toBe('OK');
  });
});
