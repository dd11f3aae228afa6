import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { EmailChangeTokensRepository, EmailDeliveriesRepository, TransactionRunner } from '@app/database';
import { emailChangeMailKey, EmailChangeMessage, emailChangeMessageId } from '@app/messaging/contracts';
import { renderEmailChangeEmail } from './email-change-email.template';
import { Mailer } from './mailer.port';
import { sendTokenMail, TokenMailOutcome } from './token-mail';

/** Sends the "confirm your new e-mail address" e-mail of a change request, once, to the new address (see `sendTokenMail`). */
@Injectable()
export class EmailChangeMailService {
  private readonly key: Buffer;

  constructor(
    private readonly tokens: EmailChangeTokensRepository,
    private readonly deliveries: EmailDeliveriesRepository,
    private readonly transactions: TransactionRunner,
    private readonly mailer: Mailer,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {
    this.key = emailChangeMailKey(env.TICKET_SIGNING_SECRET!);
  }

  /**
   * Sends the token of `message` to the new address it confirms, unless the token no longer works
   * (`stale`: used, replaced, voided by a change of password, or expired). Throws
   * MalformedMessageError (parked, never retried) when the token does not open with this process's
   * key (a TICKET_SIGNING_SECRET different from the api's).
   */
  async deliver(message: EmailChangeMessage): Promise<TokenMailOutcome> {
    return sendTokenMail(
      {
        deliveries: this.deliveries,
        transactions: this.transactions,
        mailer: this.mailer,
        mailFrom: this.env.MAIL_FROM,
      },
      this.tokens,
      this.clock.now(),
      {
        id: message.changeId,
        key: this.key,
        sealedToken: message.sealedToken,
        messageId: emailChangeMessageId(message.changeId),
      },
      (recipient, token) =>
        renderEmailChangeEmail({
          ...recipient,
          token,
          expiresAt: new Date(message.expiresAt),
          changeUrl: this.env.EMAIL_CHANGE_URL,
        }),
    );
  }
}
