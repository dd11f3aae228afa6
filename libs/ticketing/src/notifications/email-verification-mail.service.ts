import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import { EmailDeliveriesRepository, EmailVerificationTokensRepository, TransactionRunner } from '@app/database';
import {
  emailVerificationMailKey,
  EmailVerificationMessage,
  emailVerificationMessageId,
  openMailToken,
} from '@app/messaging/contracts';
import { renderEmailVerificationEmail } from './email-verification-email.template';
import { Mailer } from './mailer.port';
import { sendTokenMailOnce, TokenMailOutcome } from './token-mail';

/** Sends the "confirm your e-mail address" e-mail of a verification request, once (see `sendTokenMailOnce`). */
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
    const recipient = await this.tokens.recipientOfLive(message.verificationId, this.clock.now());
    if (!recipient) return 'stale';
    const token = openMailToken(this.key, message.verificationId, message.sealedToken);
    return sendTokenMailOnce(
      {
        deliveries: this.deliveries,
        transactions: this.transactions,
        mailer: this.mailer,
        mailFrom: this.env.MAIL_FROM,
      },
      emailVerificationMessageId(message.verificationId),
      recipient,
      () =>
        renderEmailVerificationEmail({
          ...recipient,
          token,
          expiresAt: new Date(message.expiresAt),
          verifyUrl: this.env.EMAIL_VERIFICATION_URL,
        }),
    );
  }
}
