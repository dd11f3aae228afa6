import type { EmailDeliveriesRepository, TransactionRunner } from '@app/database';
import { Mailer, MailStream } from './mailer.port';
import { RenderedEmail } from './email-layout';
import { sendClaimed } from './send-claimed';

/**
 * What became of a single-use-token e-mail (password reset, e-mail verification). `stale`: the
 * request's token was used (or another of the account's), dropped as the oldest of too many, or
 * expired before its e-mail went out; it no longer works, so nothing is sent.
 */
export type TokenMailOutcome = 'sent' | 'already-sent' | 'stale' | 'uncertain';

/**
 * Sends the e-mail of message `messageId` to `recipient` once, on `stream` (default the urgent
 * one, SMTP_URL; a ticket holder's notice of a canceled show goes through the bulk one):
 * claimed in `email_deliveries` like a purchase confirmation (see PurchaseMailService), so a
 * redelivered message sends nothing (`already-sent`); `email` is rendered only once the claim is held.
 */
export function sendTokenMailOnce(
  deps: {
    deliveries: EmailDeliveriesRepository;
    transactions: TransactionRunner;
    mailer: Mailer;
    mailFrom: string;
  },
  messageId: string,
  recipient: { email: string; name: string },
  email: () => RenderedEmail,
  stream: MailStream = 'urgent',
): Promise<Exclude<TokenMailOutcome, 'stale'>> {
  return deps.transactions.run(async (manager) => {
    const claimed = await deps.deliveries.claim(manager, { messageId, purchaseId: null, recipient: recipient.email });
    if (!claimed) return 'already-sent';
    return sendClaimed(deps, manager, messageId, {
      ...email(),
      to: { name: recipient.name, address: recipient.email },
      // An account's own request, read at once: never behind a show's notices (unless it is one).
      stream,
    });
  });
}
