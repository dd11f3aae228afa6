/** Routing keys of the messages on the events exchange: part of each message's contract. */
export const ROUTING = {
  purchaseCompleted: 'purchase.completed',
} as const;
