/** Routing keys of the messages on the events exchange: part of each message's contract. */
export const ROUTING = {
  purchaseCompleted: 'purchase.completed',
  /** Cancellation notices share the purchase-mail queue, so one consumer orders both per purchase. */
  purchaseCanceled: 'purchase.canceled',
} as const;
