import { AccountNoticeMessage, isAccountNoticeBody, toAccountNotice } from './account-notice';
import { EmailChangeMessage, isEmailChangeBody, toEmailChange } from './email-change';
import { EmailVerificationMessage, isEmailVerificationBody, toEmailVerification } from './email-verification';
import { isTicketTransferBody, TicketTransferMessage, toTicketTransfer } from './ticket-transfer';
import { isPaymentRefundedBody, PaymentRefundedMessage, toPaymentRefunded } from './payment-refunded';
import { isPasswordResetBody, PasswordResetMessage, toPasswordReset } from './password-reset';
import { isPurchaseCanceledBody, PurchaseCanceledMessage, toPurchaseCanceled } from './purchase-canceled';
import { isPurchaseRefundedBody, PurchaseRefundedMessage, toPurchaseRefunded } from './purchase-refunded';
import { MalformedMessageError, parsePurchaseCompleted, PurchaseCompletedMessage } from './purchase-completed';
import { isPurchaseRescheduledBody, PurchaseRescheduledMessage, toPurchaseRescheduled } from './purchase-rescheduled';
import {
  isPurchaseTicketsResentBody,
  PurchaseTicketsResentMessage,
  toPurchaseTicketsResent,
} from './purchase-tickets-resent';
import {
  isTicketHolderRescheduledBody,
  TicketHolderRescheduledMessage,
  toTicketHolderRescheduled,
} from './ticket-holder-rescheduled';

/**
 * A message of the mail queues (urgent or bulk: any of them may come through either): a purchase
 * confirmation, a cancellation notice, a partial refund's notice, a notice that the purchase's performance moved, its
 * tickets sent again on request, a password reset, an e-mail address to confirm, a new address to confirm, a notice of a change to
 * an account, the refund of a charge whose purchase was lost, a ticket transfer's offer or acceptance, or a
 * notice to the holder of transferred tickets that their performance moved.
 */
export type MailMessage =
  | { kind: 'completed'; message: PurchaseCompletedMessage }
  | { kind: 'canceled'; message: PurchaseCanceledMessage }
  | { kind: 'refunded'; message: PurchaseRefundedMessage }
  | { kind: 'rescheduled'; message: PurchaseRescheduledMessage }
  | { kind: 'tickets-resent'; message: PurchaseTicketsResentMessage }
  | { kind: 'password-reset'; message: PasswordResetMessage }
  | { kind: 'email-verification'; message: EmailVerificationMessage }
  | { kind: 'email-change'; message: EmailChangeMessage }
  | { kind: 'account-notice'; message: AccountNoticeMessage }
  | { kind: 'payment-refunded'; message: PaymentRefundedMessage }
  | { kind: 'ticket-transfer'; message: TicketTransferMessage }
  | { kind: 'holder-rescheduled'; message: TicketHolderRescheduledMessage };

/**
 * Parses a body of a mail queue by its `type`: purchase-canceled, purchase-refunded, purchase-rescheduled,
 * purchase-tickets-resent, password-reset, email-verification, email-change, account-notice, payment-refunded, ticket-transfer or ticket-holder.rescheduled when it says so, else purchase-completed (whose bodies carry no `type`). Throws {@link MalformedMessageError}.
 */
export function parseMailMessage(content: Buffer): MailMessage {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    throw new MalformedMessageError('not JSON');
  }
  if (isPurchaseCanceledBody(body)) return { kind: 'canceled', message: toPurchaseCanceled(body) };
  if (isPurchaseRefundedBody(body)) return { kind: 'refunded', message: toPurchaseRefunded(body) };
  if (isPurchaseRescheduledBody(body)) return { kind: 'rescheduled', message: toPurchaseRescheduled(body) };
  if (isPurchaseTicketsResentBody(body)) return { kind: 'tickets-resent', message: toPurchaseTicketsResent(body) };
  if (isPasswordResetBody(body)) return { kind: 'password-reset', message: toPasswordReset(body) };
  if (isEmailVerificationBody(body)) return { kind: 'email-verification', message: toEmailVerification(body) };
  if (isEmailChangeBody(body)) return { kind: 'email-change', message: toEmailChange(body) };
  if (isAccountNoticeBody(body)) return { kind: 'account-notice', message: toAccountNotice(body) };
  if (isPaymentRefundedBody(body)) return { kind: 'payment-refunded', message: toPaymentRefunded(body) };
  if (isTicketTransferBody(body)) return { kind: 'ticket-transfer', message: toTicketTransfer(body) };
  if (isTicketHolderRescheduledBody(body)) {
    return { kind: 'holder-rescheduled', message: toTicketHolderRescheduled(body) };
  }
  return { kind: 'completed', message: parsePurchaseCompleted(content) };
}
