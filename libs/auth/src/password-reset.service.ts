import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { assertSettablePassword, Clock, emailKey } from '@app/core';
import {
  AccountNoticesRepository,
  AuthEventsRepository,
  AuthEventType,
  EmailChangeTokensRepository,
  EmailVerificationTokensRepository,
  PasswordResetTokensRepository,
  RefreshTokensRepository,
  TransactionRunner,
  UsersRepository,
} from '@app/database';
import { PASSWORD_RESET_TYPE, passwordResetMailKey, passwordResetMessageId, ROUTING } from '@app/messaging/contracts';
import { AccountsService, normalizeEmail } from './accounts.service';
import { InvalidResetTokenError } from './auth.errors';
import { MailTokenKind, newMailTokenRequest } from './mail-token';
import { PasswordHasher } from './password-hasher';
import { SessionRevocations } from './session-revocations';
import { hashToken } from './token.service';

/** A reset request's outbox message: a `PasswordResetMessage` of `@app/messaging/contracts`. */
const RESET_MAIL: MailTokenKind = {
  type: PASSWORD_RESET_TYPE,
  idField: 'resetId',
  routingKey: ROUTING.passwordReset,
  messageId: passwordResetMessageId,
};

/**
 * Password reset by e-mail: a request stores a single-use token (its SHA-256 only; per account
 * within MAIL_TOKEN_LIMITS, the client address's limit being PASSWORD_RESET_RATE_LIMIT) and sends it
 * to the account's address through the outbox; a token then sets a new password once, within
 * PASSWORD_RESET_TTL_MINUTES, uses up every other token of the account, ends all its sessions and
 * confirms its address.
 */
@Injectable()
export class PasswordResetService {
  /** Seals the token in its message: only the api and the mailer read it there. */
  private readonly mailKey: Buffer;

  constructor(
    private readonly resets: PasswordResetTokensRepository,
    private readonly verifications: EmailVerificationTokensRepository,
    private readonly accounts: AccountsService,
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly sessions: SessionRevocations,
    private readonly events: AuthEventsRepository,
    private readonly notices: AccountNoticesRepository,
    private readonly emailChanges: EmailChangeTokensRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {
    this.mailKey = passwordResetMailKey(env.TICKET_SIGNING_SECRET!);
  }

  /**
   * Asks for a reset of the account with this e-mail (in any letter case). Resolves the same way
   * whether or not there is such an account, and whether or not a token is issued: every request
   * is recorded (by the hash of its e-mail key) in one committed transaction, so the two cases do
   * alike work in PostgreSQL. Their times are close, not equal (a known account's writes a few rows
   * more); and signup's 409 tells whether an e-mail is registered anyway. For an account, unless
   * MAIL_TOKEN_LIMITS.issuedPerWindow tokens were issued to it within the window, a new token
   * is stored beside its live ones (past MAIL_TOKEN_LIMITS.liveTokens the oldest is dropped;
   * the others keep working) and its e-mail goes out.
   */
  async request(email: string): Promise<void> {
    const ttlMs = this.env.PASSWORD_RESET_TTL_MINUTES * 60_000;
    const { requestId: resetId, request } = newMailTokenRequest(RESET_MAIL, this.mailKey, this.clock.now(), ttlMs);
    const key = emailKey(normalizeEmail(email));
    await this.resets.issue({ emailKey: key, emailHash: hashToken(key), resetId, ...request });
  }

  /**
   * Sets `password` (already checked against signup's rules; InvalidInputError, 400, before the
   * token is looked at, for one too easily guessed: `guessablePasswordReason`; and, once the token
   * names its account, for that account's own e-mail address or name, the token left live) on the
   * account of `token`, and uses the token up, in one transaction with the end of every session of the
   * account (its refresh tokens revoked, its access tokens refused on every api at once:
   * SessionRevocations), the PASSWORD_RESET audit record and its "your password was changed" notice
   * to the account's address; every other reset token of the account, and every pending change of
   * its address, stops working. The token came to the account's inbox, so the address is
   * confirmed too (unless it was: `email_verified_at`, EMAIL_VERIFIED recorded, its verification
   * tokens deleted), in the same transaction. Of concurrent confirms of one account's tokens exactly one succeeds. Throws
   * {@link InvalidResetTokenError} (400) for a token unknown, used (or another of the account's
   * was), dropped as the oldest of too many, or expired, without saying which; StoreUnavailableError
   * (503, nothing changed) when Redis cannot announce the end of the sessions.
   */
  async confirm(token: string, password: string): Promise<void> {
    assertSettablePassword(password);
    const tokenHash = hashToken(token);
    // A cheap read first: a wrong token costs no argon2 hash.
    if (!(await this.resets.isLive(tokenHash, this.clock.now()))) throw new InvalidResetTokenError();
    const passwordHash = await this.hasher.hash(password);
    const reset = await this.transactions.run(async (manager) => {
      const now = this.clock.now();
      const userId = await this.resets.consume(tokenHash, now, manager);
      if (!userId) return null;
      // The account is known only now: its own e-mail address and name are refused as signup
      // refuses them (the throw rolls back, so the token stays live).
      const account = await this.users.findById(userId, manager);
      if (account) assertSettablePassword(password, { email: account.email, name: account.name });
      await this.users.setPasswordHash(userId, passwordHash, manager);
      await this.refreshTokens.revokeUser(userId, now, manager);
      await this.sessions.endAll(userId, manager);
      await this.emailChanges.voidAll(userId, manager);
      if (account) {
        await this.notices.record(
          { userId, kind: 'password-reset', email: account.email, routingKey: ROUTING.accountNotice },
          manager,
        );
      }
      // The reset token came to the account's inbox: it proves the address as a verification
      // token does, and is the way in for an owner whose address someone else signed up with.
      if (await this.verifications.verifyByReset(userId, now, manager)) {
        await this.events.record(userId, AuthEventType.EmailVerified, manager);
      }
      return userId;
    });
    if (!reset) throw new InvalidResetTokenError();
    this.accounts.rememberVerified(reset);
  }
}
