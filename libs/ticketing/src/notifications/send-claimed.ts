import type { EmailDeliveriesRepository, TransactionRunner } from '@app/database';
import { Mailer, MailMaybeSentError, OutgoingEmail } from './mailer.port';

/** The transaction a TransactionRunner hands its work (no persistence types in the rules). */
export type Transaction = Parameters<Parameters<TransactionRunner['run']>[0]>[0];

/**
 * Sends the e-mail of a message whose delivery row `messageId` the caller's transaction has just
 * claimed, and completes the claim: `sent` with the server's message id, or `uncertain` when the
 * whole e-mail reached the server unanswered (kept, so it is never sent twice). Any other failure
 * is thrown, and the caller's rollback frees the claim for another try. The `Message-ID` header is
 * derived from `messageId`, the same on every try.
 */
export async function sendClaimed(
  deps: { mailer: Mailer; deliveries: EmailDeliveriesRepository; mailFrom: string },
  manager: Transaction,
  messageId: string,
  email: Omit<OutgoingEmail, 'messageIdHeader'>,
): Promise<'sent' | 'uncertain'> {
  try {
    const { smtpMessageId } = await deps.mailer.send({
      ...email,
      messageIdHeader: `<${messageId.replace(':', '.')}@${senderDomain(deps.mailFrom)}>`,
    });
    await deps.deliveries.recordSent(manager, messageId, smtpMessageId);
    return 'sent';
  } catch (error) {
    // Probably delivered: keep the claim rather than risk a second copy.
    if (!(error instanceof MailMaybeSentError)) throw error;
    await deps.deliveries.recordUncertain(manager, messageId);
    return 'uncertain';
  }
}

function senderDomain(from: string): string {
  return /@([^>\s]+)/.exec(from)?.[1] ?? 'boxoffice.local';
}
