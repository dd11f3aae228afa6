import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { EmailDeliveriesRepository, EmailVerificationTokensRepository, TransactionRunner } from '@app/database';
import {
  emailVerificationMailKey,
  EmailVerificationMessage,
  emailVerificationMessageId,
} from '@app/messaging/contracts';
import { renderEmailVerificationEmail } from './email-verification-email.template';
import { Mailer } from './mailer.port';
import { sendTokenMail, TokenMailOutcome } from './token-mail';

/** Sends the "confirm your e-mail address" e-mail of a verification request, once (see `sendTokenMail`). */
@Injectable()
export class EmailVerificationMailService {
  private readonly key: Buffer;

  constructor(
    private readonly tokens: EmailVerificationTokensRepository,
    private readonly deliveries: EmailDeliveriesRepository,
    private readonly transactions: TransactionRunner,
    private readonly mailer: Mailer,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {
    this.key = emailVerificationMailKey(env.TICKET_SIGNING_SECRET!);
  }

  /**
   * Sends the token of `message` to its account's address, unless the token no longer works
   * (`stale`: used, replaced, voided by a change of e-mail, or expired). Throws
   * MalformedMessageError (parked, never retried) when the token does not open with this process's
   * key (a TICKET_SIGNING_SECRET different from the api's).
   */
  async deliver(message: EmailVerificationMessage): Promise<TokenMailOutcome> {
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
        id: message.verificationId,
        key: this.key,
        sealedToken: message.sealedToken,
        messageId: emailVerificationMessageId(message.verificationId),
      },
      (recipient, token) =>
        renderEmailVerificationEmail({
          ...recipient,
          token,
          expiresAt: new Date(message.expiresAt),
          verifyUrl: this.env.EMAIL_VERIFICATION_URL,
        }),
    );
  }
}
