import { Global, Module, OnApplicationShutdown } from '@nestjs/common';
import { Env } from '@app/config';
import { AmqpConnection } from './amqp.connection';
import { Topology } from './topology';

@Global()
@Module({
  providers: [
    { provide: Topology, inject: [Env], useFactory: (env: Env) => new Topology(env.RABBITMQ_NAMESPACE) },
    {
      provide: AmqpConnection,
      inject: [Env, Topology],
      useFactory: (env: Env, topology: Topology) => new AmqpConnection(env.RABBITMQ_URL, topology),
    },
  ],
  exports: [AmqpConnection, Topology],
})
export class MessagingModule implements OnApplicationShutdown {
  constructor(private readonly amqp: AmqpConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.amqp.close();
  }
}
