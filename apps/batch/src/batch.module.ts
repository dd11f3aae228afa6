import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, EnvSource } from '@app/config';
import { DatabaseModule } from '@app/database';
import { MessagingModule, OutboxRelayModule } from '@app/messaging';
import { RedisModule } from '@app/redis';
import { PurchasesModule, TicketingModule } from '@app/ticketing';

/** The background worker: same libraries as the API, no HTTP. */
@Module({})
export class BatchModule {
  static forRoot(overrides: EnvSource = {}): DynamicModule {
    return {
      module: BatchModule,
      imports: [
        ConfigModule.forRoot(overrides),
        DatabaseModule,
        RedisModule,
        MessagingModule,
        TicketingModule,
        PurchasesModule,
        OutboxRelayModule,
      ],
    };
  }
}
