export { AmqpConnection } from './amqp.connection';
export { MessagingModule, retryPolicyOf, topologyOf } from './messaging.module';
export { Topology } from './topology';
export { RetryPolicy } from './retry-policy';
export type { FailureDecision } from './retry-policy';
export { ATTEMPTS_HEADER, LAST_ERROR_HEADER, RetryingConsumer } from './retrying-consumer';
export type { RetryingConsumerOptions } from './retrying-consumer';
export {
  MalformedMessageError,
  parsePurchaseCompleted,
  purchaseCompletedEntry,
  purchaseCompletedMessageId,
  ROUTING,
} from './contracts';
export type { CompletedPurchase, OutboxEntry, PurchaseCompletedMessage } from './contracts';
export { parsePurchaseMailMessage, purchaseCanceledMessageId } from './contracts';
export type { PurchaseCanceledMessage, PurchaseMailMessage } from './contracts';
export { OutboxRelay } from './outbox/outbox-relay';
export type { RelayResult } from './outbox/outbox-relay';
export { OutboxRelayModule } from './outbox/outbox-relay.module';
