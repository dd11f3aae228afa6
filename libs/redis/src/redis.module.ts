import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@app/config';

export function createRedis(env: Pick<Env, 'REDIS_URL' | 'REDIS_KEY_PREFIX'>, name = 'boxoffice'): Redis {
  const logger = new Logger('Redis');
  const redis = new Redis(env.REDIS_URL, {
    keyPrefix: env.REDIS_KEY_PREFIX,
    connectionName: name,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let lastError = '';
  redis.on('error', (error: Error) => {
    // Reconnection retries print the same error many times a second; log each new one once.
    if (error.message !== lastError) logger.warn(`redis: ${error.message}`);
    lastError = error.message;
  });
  redis.on('ready', () => (lastError = ''));
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
