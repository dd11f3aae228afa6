import { Module } from '@nestjs/common';
import { OutboxRelay } from './outbox-relay';

/** The outbox relay (one pass at a time; `batch` loops it). Needs the global DatabaseModule and MessagingModule. */
@Module({
  providers: [OutboxRelay],
  exports: [OutboxRelay],
})
export class OutboxRelayModule {}
