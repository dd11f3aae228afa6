import { rmSync } from 'node:fs';
import Redis from 'ioredis';
import { Env, EnvSource, parseEnv } from '@app/config';
import { createRedis } from '@app/redis';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, waitUntil } from '@app/testing';
import {
  HoldService,
  HoldStore,
  HoldSweeper,
  HoldSweepStore,
  performanceKeys,
  SeatCounts,
  SeatStateStore,
} from '@app/ticketing';

/** Services of the ticketing library on a real Redis, under a key prefix of their own. */
export interface TicketingFixture {
  env: Env;
  redis: Redis;
  store: SeatStateStore;
  holds: HoldService;
  sweeper: HoldSweeper;
  /** Another client with its own connection, as another API replica or batch process would have. */
  connect(overrides?: EnvSource): { redis: Redis; holds: HoldService; sweeper: HoldSweeper };
  /** Counts recomputed from the seat letters, read atomically with the stored counts. */
  truth(
    performanceId: number,
  ): Promise<{ stored: SeatCounts; recomputed: SeatCounts; letters: Record<string, string> }>;
  /** Waits (polling every `pollMs`, 20 by default) until Redis TIME, the scripts' only clock, is past `when` (epoch ms or a Date). */
  redisTimePasses(when: Date | number, what: string, pollMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function ticketingFixture(overrides: EnvSource = {}): TicketingFixture {
  const testEnv = createTestEnvWithoutDatabase(overrides);
  const env = parseEnv(testEnv);
  const clients: Redis[] = [];
  const connect = (more: EnvSource = {}) => {
    const clientEnv = parseEnv({ ...testEnv, ...more });
    const redis = createRedis(clientEnv);
    clients.push(redis);
    return {
      redis,
      holds: new HoldService(new HoldStore(redis), clientEnv),
      sweeper: new HoldSweeper(new HoldSweepStore(redis)),
    };
  };
  const main = connect();
  return {
    env,
    redis: main.redis,
    store: new SeatStateStore(main.redis),
    holds: main.holds,
    sweeper: main.sweeper,
    connect,
    async truth(performanceId) {
      const keys = performanceKeys(performanceId);
      const replies = (await main.redis.multi().hgetall(keys.seats).hgetall(keys.counts).exec()) ?? [];
      const letters = replies[0][1] as Record<string, string>;
      const counts = replies[1][1] as Record<string, string>;
      const values = Object.values(letters);
      return {
        letters,
        stored: {
          total: Number(counts.total),
          available: Number(counts.available),
          held: Number(counts.held),
          sold: Number(counts.sold),
          blocked: Number(counts.blocked ?? 0),
        },
        recomputed: {
          total: values.length,
          available: values.filter((letter) => letter === 'A').length,
          held: values.filter((letter) => letter === 'H').length,
          sold: values.filter((letter) => letter === 'S').length,
          blocked: values.filter((letter) => letter === 'B').length,
        },
      };
    },
    async redisTimePasses(when, what, pollMs = 20) {
      const until = typeof when === 'number' ? when : when.getTime();
      await waitUntil(
        async () => {
          const [seconds, micros] = (await main.redis.time()).map(Number);
          return seconds * 1000 + micros / 1000 > until;
        },
        `${what} (Redis time)`,
        5_000,
        pollMs,
      );
    },
    async close() {
      for (const redis of clients) redis.disconnect();
      await deleteRedisKeys(REDIS_URL, testEnv.REDIS_KEY_PREFIX);
      rmSync(testEnv.LOG_DIR, { recursive: true, force: true });
    },
  };
}

/** Seats 1..count at the given price. */
export function seatRange(count: number, price = 50): { id: number; price: number }[] {
  return Array.from({ length: count }, (_, index) => ({ id: index + 1, price }));
}
