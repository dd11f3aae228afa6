import { Global, Module, OnApplicationShutdown } from '@nestjs/common';
import { Env } from '@app/config';
import { AmqpConnection } from './amqp.connection';
import { RetryPolicy } from './retry-policy';
import { Topology } from './topology';

type MessagingEnv = Pick<Env, 'RABBITMQ_NAMESPACE' | 'MAIL_MAX_ATTEMPTS' | 'MAIL_RETRY_BASE_MS' | 'MAIL_RETRY_MAX_MS'>;

/** The retry policy of purchase-completed messages, from the configuration. */
export function retryPolicyOf(env: MessagingEnv): RetryPolicy {
  return new RetryPolicy(env.MAIL_MAX_ATTEMPTS, env.MAIL_RETRY_BASE_MS, env.MAIL_RETRY_MAX_MS);
}

/** The exchanges and queues of this configuration (namespace and retry waits). */
export function topologyOf(env: MessagingEnv): Topology {
  return new Topology(env.RABBITMQ_NAMESPACE, retryPolicyOf(env).delaysMs);
}

@Global()
@Module({
  providers: [
    { provide: RetryPolicy, inject: [Env], useFactory: retryPolicyOf },
    { provide: Topology, inject: [Env], useFactory: topologyOf },
    {
      provide: AmqpConnection,
      inject: [Env, Topology],
      useFactory: (env: Env, topology: Topology) => new AmqpConnection(env.RABBITMQ_URL, topology),
    },
  ],
  exports: [AmqpConnection, RetryPolicy, Topology],
})
export class MessagingModule implements OnApplicationShutdown {
  constructor(private readonly amqp: AmqpConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.amqp.close();
  }
}
