import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { EmailDeliveriesRepository, PasswordResetTokensRepository, TransactionRunner } from '@app/database';
import { passwordResetMailKey, PasswordResetMessage, passwordResetMessageId } from '@app/messaging/contracts';
import { Mailer } from './mailer.port';
import { renderPasswordResetEmail } from './password-reset-email.template';
import { sendTokenMail, TokenMailOutcome } from './token-mail';

/** What became of a password-reset e-mail; see {@link TokenMailOutcome}. */
export type PasswordResetDeliveryOutcome = TokenMailOutcome;

/** Sends the e-mail of a password-reset request, once (see `sendTokenMail`). */
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
    return sendTokenMail(
      {
        deliveries: this.deliveries,
        transactions: this.transactions,
        mailer: this.mailer,
        mailFrom: this.env.MAIL_FROM,
      },
      this.resets,
      this.clock.now(),
      {
        id: message.resetId,
        key: this.key,
        sealedToken: message.sealedToken,
        messageId: passwordResetMessageId(message.resetId),
      },
      (recipient, token) =>
        renderPasswordResetEmail({
          ...recipient,
          token,
          expiresAt: new Date(message.expiresAt),
          resetUrl: this.env.PASSWORD_RESET_URL,
        }),
    );
  }
}
