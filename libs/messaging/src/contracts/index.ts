// The message contracts alone, for code that builds or reads messages without a broker
// connection (the rules library): importing them loads no AMQP client.
export { MalformedMessageError, parsePurchaseCompleted, purchaseCompletedMessageId } from './purchase-completed';
export type { PurchaseCompletedMessage } from './purchase-completed';
export { BULK_MAIL_ROUTING, ROUTING, URGENT_MAIL_ROUTING } from './routing';
export {
  isPurchaseCanceledBody,
  PURCHASE_CANCELED_TYPE,
  purchaseCanceledMessageId,
  toPurchaseCanceled,
} from './purchase-canceled';
export type { PurchaseCanceledMessage } from './purchase-canceled';
export {
  isPurchaseRefundedBody,
  PURCHASE_REFUNDED_TYPE,
  purchaseRefundedMessageId,
  toPurchaseRefunded,
} from './purchase-refunded';
export type { PurchaseRefundedMessage } from './purchase-refunded';
export {
  isPurchaseRescheduledBody,
  PURCHASE_RESCHEDULED_TYPE,
  purchaseRescheduledMessageId,
  toPurchaseRescheduled,
} from './purchase-rescheduled';
export type { PurchaseRescheduledMessage } from './purchase-rescheduled';
export {
  isPurchaseTicketsResentBody,
  PURCHASE_TICKETS_RESENT_TYPE,
  purchaseTicketsResentMessageId,
  toPurchaseTicketsResent,
} from './purchase-tickets-resent';
export type { PurchaseTicketsResentMessage, TicketsResentBy } from './purchase-tickets-resent';
export { parseMailMessage } from './mail-message';
export type { MailMessage } from './mail-message';
export { mailTokenKey, openMailToken, sealMailToken } from './sealed-token';
export { PASSWORD_RESET_TYPE, passwordResetMailKey, passwordResetMessageId, toPasswordReset } from './password-reset';
export type { PasswordResetMessage } from './password-reset';
export {
  EMAIL_VERIFICATION_TYPE,
  emailVerificationMailKey,
  emailVerificationMessageId,
  toEmailVerification,
} from './email-verification';
export type { EmailVerificationMessage } from './email-verification';
export {
  isTicketTransferBody,
  TICKET_TRANSFER_TYPE,
  ticketTransferMessageId,
  ticketTransferMessageIdOf,
  ticketTransferRescheduledMessageId,
  toTicketTransfer,
} from './ticket-transfer';
export type {
  TicketTransferEventMessage,
  TicketTransferMailEvent,
  TicketTransferMessage,
  TicketTransferRescheduledMessage,
} from './ticket-transfer';
export {
  isTicketHolderRescheduledBody,
  TICKET_HOLDER_RESCHEDULED_TYPE,
  ticketHolderRescheduledMessageId,
  toTicketHolderRescheduled,
} from './ticket-holder-rescheduled';
export type { TicketHolderRescheduledMessage } from './ticket-holder-rescheduled';
export { EMAIL_CHANGE_TYPE, emailChangeMailKey, emailChangeMessageId, toEmailChange } from './email-change';
export type { EmailChangeMessage } from './email-change';
export { ACCOUNT_NOTICE_TYPE, accountNoticeMessageId, toAccountNotice } from './account-notice';
export type { AccountNoticeEvent, AccountNoticeMessage } from './account-notice';
export {
  isPaymentRefundedBody,
  PAYMENT_REFUNDED_TYPE,
  paymentRefundedMessageId,
  toPaymentRefunded,
} from './payment-refunded';
export type { PaymentRefundedMessage } from './payment-refunded';
