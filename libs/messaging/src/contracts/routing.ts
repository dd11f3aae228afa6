/** Routing keys of the messages on the events exchange: part of each message's contract. */
export const ROUTING = {
  purchaseCompleted: 'purchase.completed',
  /**
   * A cancellation notice of one purchase, by its buyer or an operator's refund: on the urgent
   * mail queue with the confirmations. The order of a purchase's e-mails does not rest on the
   * queue: PurchaseMailService decides under the purchase's mail lock.
   */
  purchaseCanceled: 'purchase.canceled',
  /**
   * A cancellation notice written by the bulk refund of a canceled performance (`canceledBy`
   * 'performance'), one per purchase of the show: on the bulk mail queue. The same body as
   * {@link purchaseCanceled}; only the routing key tells the two apart. Bound by this exact key
   * (the topology binds no wildcard patterns), so it reaches the bulk queue only, never the urgent
   * queue's `purchase.canceled`.
   */
  purchaseCanceledByPerformance: 'purchase.canceled.performance',
  /**
   * Notices that a purchase's performance moved, one per paid purchase of the show: on the bulk mail
   * queue. The same move's new-date offers of its pending ticket transfers (a `ticket-transfer`
   * body, event `rescheduled`) travel under this key too.
   */
  purchaseRescheduled: 'purchase.rescheduled',
  /** Password-reset e-mails: on the urgent mail queue (one consumer, one retry and dead-letter path). */
  passwordReset: 'account.password-reset',
  /** "Confirm your e-mail address" e-mails: on the urgent mail queue, as password resets. */
  emailVerification: 'account.email-verification',
  /** The token confirming a new address of an account, mailed to that address: on the urgent mail queue. */
  emailChange: 'account.email-change',
  /** Notices to an account's owner of a change to it (password, address): on the urgent mail queue. */
  accountNotice: 'account.notice',
  /**
   * The notice to a buyer that `batch`'s payment reconciliation refunded a charge whose purchase
   * never happened or was lost: on the urgent mail queue.
   */
  paymentRefunded: 'payment.refunded',
  /**
   * Ticket-transfer e-mails (an offer to the recipient's address, "accepted" to the sender): on the
   * urgent mail queue, one request each. TicketTransfersRepository writes this key in SQL.
   */
  ticketTransfer: 'ticket.transfer',
} as const;

/**
 * The routing keys of the urgent mail queue (`<ns>.purchase-completed`): e-mails one person is
 * waiting for now, each caused by one request (a purchase, a buyer's cancel, an operator's refund of
 * one purchase, a password reset, an address to confirm, a notice of a change to an account, a ticket
 * transfer, the refund of a charge whose purchase was lost).
 */
export const URGENT_MAIL_ROUTING: readonly string[] = [
  ROUTING.purchaseCompleted,
  ROUTING.purchaseCanceled,
  ROUTING.passwordReset,
  ROUTING.emailVerification,
  ROUTING.emailChange,
  ROUTING.accountNotice,
  ROUTING.paymentRefunded,
  ROUTING.ticketTransfer,
];

/**
 * The routing keys of the bulk mail queue (`<ns>.mail-bulk`): notices one operator action fans
 * out to every buyer of a performance (a move, a cancellation of the show), tens of thousands at
 * once, which must not queue in front of the urgent e-mails.
 */
export const BULK_MAIL_ROUTING: readonly string[] = [
  ROUTING.purchaseRescheduled,
  ROUTING.purchaseCanceledByPerformance,
];
