import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis, { Cluster } from 'ioredis';
import { Env, redisClusterNodes } from '@app/config';
import { coalesceWrites } from './coalesced-writes';
import { raiseStoreUnavailable } from './unavailable';

/**
 * The process's Redis client, with the deployment's key prefix: a plain ioredis client on
 * REDIS_URL, or, when REDIS_CLUSTER_NODES is set, an ioredis `Cluster` typed as `Redis`. Both
 * share the command API (commands, `defineCommand` scripts, single-slot pipelines); what differs
 * per node (SCAN, commands across slots) goes through `./cluster.ts`. The commands of one
 * event-loop turn leave together (`./coalesced-writes.ts`). A command that fails because Redis
 * cannot answer now rejects with `StoreUnavailableError` of `@app/core` (`./unavailable.ts`); the
 * node clients of a Cluster (`primaries`) keep ioredis' errors.
 */
export function createRedis(
  env: Pick<Env, 'REDIS_URL' | 'REDIS_KEY_PREFIX'> & { REDIS_CLUSTER_NODES?: string },
  name = 'boxoffice',
): Redis {
  const logger = new Logger('Redis');
  const nodes = redisClusterNodes(env.REDIS_CLUSTER_NODES);
  const retry = (times: number) => Math.min(times * 200, 2000);
  const redis =
    nodes.length > 0
      ? (new Cluster(nodes, {
          keyPrefix: env.REDIS_KEY_PREFIX,
          redisOptions: { connectionName: name, maxRetriesPerRequest: 2 },
          enableOfflineQueue: true,
          clusterRetryStrategy: retry,
          // A failover moves slots: MOVED/TRYAGAIN are retried while the cluster settles.
          retryDelayOnFailover: 200,
          retryDelayOnTryAgain: 200,
          retryDelayOnClusterDown: 200,
        }) as unknown as Redis)
      : new Redis(env.REDIS_URL, {
          keyPrefix: env.REDIS_KEY_PREFIX,
          connectionName: name,
          maxRetriesPerRequest: 2,
          enableOfflineQueue: true,
          retryStrategy: retry,
        });
  let lastError = '';
  redis.on('error', (error: Error) => {
    // Reconnection retries print the same error many times a second; log each new one once.
    if (error.message !== lastError) logger.warn(`redis: ${error.message}`);
    lastError = error.message;
  });
  redis.on('ready', () => (lastError = ''));
  coalesceWrites(redis);
  raiseStoreUnavailable(redis);
  return redis;
}

/** One ioredis client per process, with the deployment's key prefix. Inject `Redis`. */
@Global()
@Module({
  providers: [{ provide: Redis, inject: [Env], useFactory: (env: Env) => createRedis(env) }],
  exports: [Redis],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
