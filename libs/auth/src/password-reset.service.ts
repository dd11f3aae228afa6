import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock, emailKey } from '@app/core';
import {
  AuthEventsRepository,
  AuthEventType,
  PasswordResetTokensRepository,
  RefreshTokensRepository,
  TransactionRunner,
  UsersRepository,
} from '@app/database';
import {
  PASSWORD_RESET_TYPE,
  passwordResetMailKey,
  passwordResetMessageId,
  ROUTING,
  sealResetToken,
} from '@app/messaging/contracts';
import { normalizeEmail } from './accounts.service';
import { InvalidResetTokenError } from './auth.errors';
import { PasswordHasher } from './password-hasher';
import { hashToken } from './token.service';

/** Random bytes of a reset token; sent as base64url (43 characters). */
export const RESET_TOKEN_BYTES = 32;

/**
 * Password reset by e-mail: a request stores a single-use token (its SHA-256 only) and sends it
 * to the account's address through the outbox; the token then sets a new password once, within
 * PASSWORD_RESET_TTL_MINUTES, and ends every session of the account.
 */
@Injectable()
export class PasswordResetService {
  /** Seals the token in its message: only the api and the mailer read it there. */
  private readonly mailKey: Buffer;

  constructor(
    private readonly resets: PasswordResetTokensRepository,
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly events: AuthEventsRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {
    this.mailKey = passwordResetMailKey(env.TICKET_SIGNING_SECRET!);
  }

  /**
   * Asks for a reset of the account with this e-mail (in any letter case). Resolves the same way
   * whether or not there is such an account, after the same work (a token made and sealed, one
   * statement in PostgreSQL), so neither the answer nor its time tells which. For an account, the
   * new token replaces any earlier one (which stops working) and its e-mail goes out.
   */
  async request(email: string): Promise<void> {
    const token = randomBytes(RESET_TOKEN_BYTES).toString('base64url');
    const resetId = randomUUID();
    const expiresAt = new Date(this.clock.now().getTime() + this.env.PASSWORD_RESET_TTL_MINUTES * 60_000);
    await this.resets.issue({
      emailKey: emailKey(normalizeEmail(email)),
      resetId,
      tokenHash: hashToken(token),
      expiresAt,
      message: {
        messageId: passwordResetMessageId(resetId),
        routingKey: ROUTING.passwordReset,
        payload: {
          type: PASSWORD_RESET_TYPE,
          resetId,
          sealedToken: sealResetToken(this.mailKey, resetId, token),
          expiresAt: expiresAt.toISOString(),
        },
      },
    });
  }

  /**
   * Sets `password` (already checked against signup's rules) on the account of `token`, and uses
   * the token up, in one transaction with the end of every session of the account (its refresh
   * tokens revoked) and the PASSWORD_RESET audit record. Of concurrent confirms of one token
   * exactly one succeeds. Throws {@link InvalidResetTokenError} (400) for a token unknown, used,
   * replaced by a newer request or expired, without saying which.
   */
  async confirm(token: string, password: string): Promise<void> {
    const tokenHash = hashToken(token);
    // A cheap read first: a wrong token costs no argon2 hash.
    if (!(await this.resets.isLive(tokenHash, this.clock.now()))) throw new InvalidResetTokenError();
    const passwordHash = await this.hasher.hash(password);
    const reset = await this.transactions.run(async (manager) => {
      const now = this.clock.now();
      const userId = await this.resets.consume(tokenHash, now, manager);
      if (!userId) return false;
      await this.users.setPasswordHash(userId, passwordHash, manager);
      await this.refreshTokens.revokeUser(userId, now, manager);
      await this.events.record(userId, AuthEventType.PasswordReset, manager);
      return true;
    });
    if (!reset) throw new InvalidResetTokenError();
  }
}
