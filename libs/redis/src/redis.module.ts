import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis, { Cluster } from 'ioredis';
import { Env, redisClusterNodes } from '@app/config';
import { handleAskingReplies } from './asking';
import { boundCommands } from './bounded-commands';
import { coalesceWrites } from './coalesced-writes';
import { raiseStoreUnavailable } from './unavailable';

export interface CreateRedisOptions {
  /** Connect at the first command instead of at once. */
  lazyConnect?: boolean;
  /**
   * Longest wait (ms) for any command's reply, counted from when it is sent or queued; past it the
   * command fails with ioredis' "Command timed out" (a `StoreUnavailableError`), the connection
   * stays as it is; on a Cluster client the time counts from the call, through its own offline
   * queue and its retries, and a pipeline or transaction fails as a whole `commandTimeoutMs` after
   * its `exec` (`./bounded-commands.ts`). Unset: no bound (a command to a node that vanished, or
   * queued while a Cluster client reconnects, may wait for ever).
   */
  commandTimeoutMs?: number;
}

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
  { lazyConnect = false, commandTimeoutMs }: CreateRedisOptions = {},
): Redis {
  const logger = new Logger('Redis');
  const nodes = redisClusterNodes(env.REDIS_CLUSTER_NODES);
  const retry = (times: number) => Math.min(times * 200, 2000);
  const redis =
    nodes.length > 0
      ? (new Cluster(nodes, {
          keyPrefix: env.REDIS_KEY_PREFIX,
          // Per node: the timer of a command starts when it is sent to (or queued for) its node.
          redisOptions: { connectionName: name, maxRetriesPerRequest: 2, commandTimeout: commandTimeoutMs },
          enableOfflineQueue: true,
          lazyConnect,
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
          commandTimeout: commandTimeoutMs,
          enableOfflineQueue: true,
          lazyConnect,
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
  if (nodes.length > 0) handleAskingReplies(redis as unknown as Cluster);
  raiseStoreUnavailable(redis);
  if (commandTimeoutMs !== undefined) boundCommands(redis, commandTimeoutMs);
  return redis;
}

/**
 * Injection token of the client that sells and waits for replicas (`Redis` type): Redis `WAIT`
 * blocks the connection it runs on until the replicas acknowledge or the timeout passes, and it
 * counts only the writes of that connection. So with REDIS_WAIT_REPLICAS above 0 the purchase
 * script and its `WAIT` go on a client of their own (same prefix, same options, connection name
 * `boxoffice-purchases`, connecting at its first command so processes that never sell open
 * nothing), and holds, seat pages and every other command of the process never queue behind a
 * `WAIT`. With REDIS_WAIT_REPLICAS=0 nothing waits, and this is the process's `Redis` client.
 */
export const PURCHASE_REDIS = Symbol('PURCHASE_REDIS');

/**
 * Injection token of the client of operators' changes that wait for replicas (`Redis` type): an
 * operator's seat block and a performance's CANCELED status, each with its `WAIT` (SeatBlockStore,
 * PerformanceCancellationStore), as PURCHASE_REDIS is for sales, for the
 * same reason: a `WAIT` blocks its connection up to REDIS_WAIT_TIMEOUT_MS and counts only that
 * connection's writes. Apart from PURCHASE_REDIS, so a sale never queues behind an operator's
 * `WAIT` either. Connection name `boxoffice-operators`, connecting at its first command; with
 * REDIS_WAIT_REPLICAS=0 nothing waits, and this is the process's `Redis` client.
 */
export const OPERATOR_REDIS = Symbol('OPERATOR_REDIS');

/**
 * The process's Redis clients, with the deployment's key prefix: `Redis`, one client for all
 * commands, `PURCHASE_REDIS`, the client of sales and their `WAIT`, and `OPERATOR_REDIS`, the
 * client of operators' changes and their `WAIT` (see there).
 */
@Global()
@Module({
  providers: [
    {
      provide: Redis,
      inject: [Env],
      useFactory: (env: Env) => createRedis(env, 'boxoffice', { commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS }),
    },
    {
      provide: PURCHASE_REDIS,
      inject: [Env, Redis],
      useFactory: (env: Env, redis: Redis) =>
        env.REDIS_WAIT_REPLICAS > 0
          ? createRedis(env, 'boxoffice-purchases', {
              lazyConnect: true,
              // A sale's script may queue behind a WAIT of this connection (REDIS_WAIT_TIMEOUT_MS at most).
              commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS + env.REDIS_WAIT_TIMEOUT_MS,
            })
          : redis,
    },
    {
      provide: OPERATOR_REDIS,
      inject: [Env, Redis],
      useFactory: (env: Env, redis: Redis) =>
        env.REDIS_WAIT_REPLICAS > 0
          ? createRedis(env, 'boxoffice-operators', {
              lazyConnect: true,
              // A change's script may queue behind a WAIT of this connection (REDIS_WAIT_TIMEOUT_MS at most).
              commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS + env.REDIS_WAIT_TIMEOUT_MS,
            })
          : redis,
    },
  ],
  exports: [Redis, PURCHASE_REDIS, OPERATOR_REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(PURCHASE_REDIS) private readonly purchaseRedis: Redis,
    @Inject(OPERATOR_REDIS) private readonly operatorRedis: Redis,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    const clients = [...new Set([this.redis, this.purchaseRedis, this.operatorRedis])];
    await Promise.all(
      clients.map((client) =>
        // A lazy client that never connected has nothing to quit (QUIT would connect it first).
        client.status === 'wait' ? client.disconnect() : client.quit().catch(() => client.disconnect()),
      ),
    );
  }
}
