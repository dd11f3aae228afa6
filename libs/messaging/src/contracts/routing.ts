/** Routing keys of the messages on the events exchange: part of each message's contract. */
export const ROUTING = {
  purchaseCompleted: 'purchase.completed',
  /** Cancellation notices share the purchase-mail queue, so one consumer orders both per purchase. */
  purchaseCanceled: 'purchase.canceled',
  /** Notices that a purchase's performance moved: the same queue, so they follow its confirmation. */
  purchaseRescheduled: 'purchase.rescheduled',
  /** Password-reset e-mails share the mail queue too: one consumer, one retry and dead-letter path. */
  passwordReset: 'account.password-reset',
} as const;
