export { AMQP_HEARTBEAT_SECONDS, AmqpConnection } from './amqp.connection';
export { addAmqpConnectedGauge } from './amqp-metrics';
export { MessagingModule, retryPolicyOf, topologyOf } from './messaging.module';
export { BULK_MAIL_ROUTING, Topology, URGENT_MAIL_ROUTING } from './topology';
export type { MailQueues } from './topology';
export { RetryPolicy } from './retry-policy';
export type { FailureDecision } from './retry-policy';
export { ATTEMPTS_HEADER, LAST_ERROR_HEADER, ORIGINAL_ROUTING_KEY_HEADER, RetryingConsumer } from './retrying-consumer';
export type { RetryingConsumerOptions } from './retrying-consumer';
export { MalformedMessageError, parsePurchaseCompleted, purchaseCompletedMessageId, ROUTING } from './contracts';
export type { PurchaseCompletedMessage } from './contracts';
export {
  parseMailMessage,
  paymentRefundedMessageId,
  purchaseCanceledMessageId,
  purchaseRefundedMessageId,
} from './contracts';
export type { MailMessage, PurchaseCanceledMessage, PurchaseRefundedMessage } from './contracts';
export { OutboxRelay } from './outbox/outbox-relay';
export type { RelayResult } from './outbox/outbox-relay';
export { OutboxRelayModule } from './outbox/outbox-relay.module';
