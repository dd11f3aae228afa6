import { Module } from '@nestjs/common';
import { OutboxRelay } from './outbox-relay';
import { OutboxRelayLoop } from './outbox-relay.loop';

/** The outbox relay of `batch`. Needs the global DatabaseModule and MessagingModule. */
@Module({
  providers: [OutboxRelay, OutboxRelayLoop],
  exports: [OutboxRelay, OutboxRelayLoop],
})
export class OutboxRelayModule {}
