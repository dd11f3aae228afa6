import type { EmailDeliveriesRepository, TransactionRunner } from '@app/database';
import { openMailToken } from '@app/messaging/contracts';
import { RenderedEmail } from './email-layout';
import { Mailer } from './mailer.port';
import { deliverInTransaction, sendClaimed } from './send-claimed';

/**
 * What became of a single-use-token e-mail (password reset, e-mail verification). `stale`: the
 * request's token was used (or another of the account's), dropped as the oldest of too many, or
 * expired before its e-mail went out; it no longer works, so nothing is sent.
 */
export type TokenMailOutcome = 'sent' | 'already-sent' | 'stale' | 'uncertain' | 'no-recipient';

/** Where a token e-mail goes: the account of a request whose token is live at `now`, null once it is not. */
export interface LiveTokenRecipients {
  recipientOfLive(requestId: string, now: Date): Promise<{ email: string } | null>;
}

/**
 * Sends the e-mail of token request `request.id` (its message's token sealed under `request.key`)
 * to the account whose live token it is, once: `stale` (nothing sent) when `tokens` finds it no
 * longer live at `now`. Claimed in `email_deliveries` as `request.messageId` like a purchase
 * confirmation (see PurchaseMailService), so a redelivered message sends nothing (`already-sent`);
 * rendered by `email` with the account and the opened token only once the claim is held; sent on
 * the urgent stream. Throws MalformedMessageError (parked, never retried) when the token does not
 * open with the key (a TICKET_SIGNING_SECRET different from the api's).
 */
export async function sendTokenMail(
  deps: {
    deliveries: EmailDeliveriesRepository;
    transactions: TransactionRunner;
    mailer: Mailer;
    mailFrom: string;
  },
  tokens: LiveTokenRecipients,
  now: Date,
  request: { id: string; key: Buffer; sealedToken: string; messageId: string },
  email: (recipient: { email: string }, token: string) => RenderedEmail,
): Promise<TokenMailOutcome> {
  const recipient = await tokens.recipientOfLive(request.id, now);
  if (!recipient) return 'stale';
  const token = openMailToken(request.key, request.id, request.sealedToken);
  return deliverInTransaction(deps, request.messageId, (manager) =>
    sendClaimed(deps, manager, { messageId: request.messageId, purchaseId: null, recipient: recipient.email }, () => ({
      ...email(recipient, token),
      // The address alone: the account's name was chosen by whoever signed up (TokenEmailInput).
      to: { name: '', address: recipient.email },
      // An account's own request, read at once: never behind a show's notices.
      stream: 'urgent',
    })),
  );
}
