import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { EmailDeliveriesRepository, PasswordResetTokensRepository, TransactionRunner } from '@app/database';
import {
  openResetToken,
  passwordResetMailKey,
  PasswordResetMessage,
  passwordResetMessageId,
} from '@app/messaging/contracts';
import { Mailer } from './mailer.port';
import { renderPasswordResetEmail } from './password-reset-email.template';
import { sendClaimed } from './send-claimed';

/**
 * `stale`: the request's token was used (or another of the account's), dropped as the oldest of
 * too many, or expired before its e-mail went out; it no longer works, so nothing is sent.
 */
export type PasswordResetDeliveryOutcome = 'sent' | 'already-sent' | 'stale' | 'uncertain';

/**
 * Sends the e-mail of a password-reset request, once: claimed in `email_deliveries` like a
 * purchase confirmation (see PurchaseMailService), so a redelivered message sends nothing.
 */
@Injectable()
export class PasswordResetMailService {
  private readonly key: Buffer;

  constructor(
    private readonly resets: PasswordResetTokensRepository,
    private readonly deliveries: EmailDeliveriesRepository,
    private readonly transactions: TransactionRunner,
    private readonly mailer: Mailer,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {
    this.key = passwordResetMailKey(env.TICKET_SIGNING_SECRET!);
  }

  /**
   * Sends the token of `message` to its account's address, unless the request is no longer the
   * account's live one (`stale`). Throws MalformedMessageError (parked, never retried) when the
   * token does not open with this process's key (a TICKET_SIGNING_SECRET different from the api's).
   */
  async deliver(message: PasswordResetMessage): Promise<PasswordResetDeliveryOutcome> {
    const recipient = await this.resets.recipientOfLive(message.resetId, this.clock.now());
    if (!recipient) return 'stale';
    const token = openResetToken(this.key, message.resetId, message.sealedToken);
    const messageId = passwordResetMessageId(message.resetId);
    return this.transactions.run(async (manager) => {
      const claimed = await this.deliveries.claim(manager, { messageId, purchaseId: null, recipient: recipient.email });
      if (!claimed) return 'already-sent';
      const email = renderPasswordResetEmail({
        ...recipient,
        token,
        expiresAt: new Date(message.expiresAt),
        resetUrl: this.env.PASSWORD_RESET_URL,
      });
      return sendClaimed(
        { mailer: this.mailer, deliveries: this.deliveries, mailFrom: this.env.MAIL_FROM },
        manager,
        messageId,
        { ...email, to: { name: recipient.name, address: recipient.email }, stream: 'urgent' },
      );
    });
  }
}
