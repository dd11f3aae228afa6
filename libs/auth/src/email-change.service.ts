import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { Clock, emailKey } from '@app/core';
import {
  AccountNoticesRepository,
  EmailChangeTokensRepository,
  RefreshTokensRepository,
  TransactionRunner,
  translatingConstraintViolations,
  UNIQUE_VIOLATION,
  UsersRepository,
} from '@app/database';
import { EMAIL_CHANGE_TYPE, emailChangeMailKey, emailChangeMessageId, ROUTING } from '@app/messaging/contracts';
import { accountEmail, AccountsService } from './accounts.service';
import {
  EmailTakenError,
  InvalidEmailChangeTokenError,
  InvalidTokenError,
  SameEmailError,
  TooManyEmailChangesError,
  VerificationOwnerRequiredError,
  WrongAccountPasswordError,
} from './auth.errors';
import type { VerificationOwnerProof } from './email-verification.service';
import { PasswordAttempts } from './login-throttler.guard';
import { MAIL_TOKEN_LIMITS, MailTokenKind, newMailTokenRequest } from './mail-token';
import { PasswordHasher } from './password-hasher';
import { SessionRevocations } from './session-revocations';
import { hashToken } from './token.service';

/** A change request's outbox message: an `EmailChangeMessage` of `@app/messaging/contracts`. */
const CHANGE_MAIL: MailTokenKind = {
  type: EMAIL_CHANGE_TYPE,
  idField: 'changeId',
  routingKey: ROUTING.emailChange,
  messageId: emailChangeMessageId,
};

/**
 * The signed-in account's change of its e-mail address: a request (with the account's password)
 * stores a single-use token (its SHA-256 only, with the new address) valid
 * EMAIL_VERIFICATION_TTL_HOURS, mails it to the NEW address (sealed as the other mailed tokens) and
 * a notice to the OLD one; the address changes only when the token comes back, with proof of the
 * account as a verification confirm takes. Per account at most MAIL_TOKEN_LIMITS requests.
 */
@Injectable()
export class EmailChangeService {
  /** Seals the token in its message: only the api and the mailer read it there. */
  private readonly mailKey: Buffer;

  constructor(
    private readonly tokens: EmailChangeTokensRepository,
    private readonly users: UsersRepository,
    private readonly accounts: AccountsService,
    private readonly notices: AccountNoticesRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly sessions: SessionRevocations,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
    private readonly attempts: PasswordAttempts,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {
    this.mailKey = emailChangeMailKey(env.TICKET_SIGNING_SECRET!);
  }

  /**
   * Asks to change account `userId`'s address to `newEmail` (normalized as signup does), with
   * `password`, the account's, counted on the login's counter of `clientIp` and the account
   * (PasswordAttempts). In one transaction: the token and its e-mail to the new address, the
   * EMAIL_CHANGE_REQUESTED record and its notice to the current address. The earlier requests'
   * tokens keep working (up to MAIL_TOKEN_LIMITS.liveTokens). Throws, storing and sending nothing:
   * InvalidInputError (400) for an address signup refuses; SameEmailError (400) for the account's
   * own address; TooManyPasswordAttemptsError (429) past the login's limit;
   * WrongAccountPasswordError (401) for a password not the account's; EmailTakenError (409) for an
   * address another account has (what signup tells of it, no more); TooManyEmailChangesError (429,
   * with the seconds to wait) past MAIL_TOKEN_LIMITS.issuedPerWindow requests; InvalidTokenError
   * (401) for an account that is gone.
   */
  async request(userId: string, password: string, newEmail: string, clientIp: string): Promise<void> {
    const address = accountEmail(newEmail);
    const account = await this.users.findById(userId);
    if (!account) throw new InvalidTokenError('the account no longer exists');
    await this.attempts.count(clientIp, account.email);
    if (!(await this.hasher.verify(account.passwordHash, password))) throw new WrongAccountPasswordError();
    if (emailKey(address) === account.emailKey) throw new SameEmailError();
    // Checked here for a clear answer; the confirm's unique index decides for good.
    if (await this.users.findByEmail(address)) throw new EmailTakenError();
    const { requestId: changeId, request } = newMailTokenRequest(
      CHANGE_MAIL,
      this.mailKey,
      this.clock.now(),
      this.env.EMAIL_VERIFICATION_TTL_HOURS * 3_600_000,
    );
    const issued = await this.transactions.run(async (manager) => {
      const outcome = await this.tokens.issue({ userId, changeId, newEmail: address, ...request }, manager);
      if (outcome.outcome === 'issued') {
        await this.notices.record(
          {
            userId,
            kind: 'email-change-requested',
            email: account.email,
            newEmail: address,
            routingKey: ROUTING.accountNotice,
          },
          manager,
        );
      }
      return outcome;
    });
    if (issued.outcome === 'no-account') throw new InvalidTokenError('the account no longer exists');
    if (issued.outcome === 'limited') throw new TooManyEmailChangesError(issued.retryAfterSeconds, MAIL_TOKEN_LIMITS);
  }

  /**
   * Sets the address `token` was mailed to on its account and uses the token up (with every other
   * change token of the account), in one transaction with: the account verified for the new
   * address (the token came to its inbox), its verification and reset tokens voided (they were
   * mailed to the old address), the end of every session of the account (its refresh tokens
   * revoked, its access tokens refused on every api: they name the old address), EMAIL_CHANGED
   * recorded and a notice to the OLD address. The client signs in again with the new address.
   *
   * `proof` must prove the account's author, as for a verification confirm (the token proves only
   * the inbox). Throws, changing nothing (the token still works unless said otherwise):
   * VerificationOwnerRequiredError (401) with neither an access token nor a password;
   * InvalidEmailChangeTokenError (400) for a token unknown, used (or another of the account's was),
   * replaced, voided by a change of password or of the address (any, by hand too: the trigger
   * `users_email_change_unverifies`), or expired, and alike for another account's access
   * token; TooManyPasswordAttemptsError (429) past the login's limit; WrongAccountPasswordError
   * (401) for a wrong password (also one changed while this confirm ran); EmailTakenError (409)
   * when another account has the address now (a signup, or another account's confirm, came first:
   * of two accounts confirming one address exactly one wins); StoreUnavailableError (503) when
   * Redis cannot announce the end of the sessions.
   */
  async confirm(token: string, proof: VerificationOwnerProof): Promise<void> {
    if (proof.callerId === undefined && proof.password === undefined) throw new VerificationOwnerRequiredError();
    const tokenHash = hashToken(token);
    // A read first: a wrong token costs no argon2 hash and no password attempt.
    const holder = await this.tokens.holderOfLive(tokenHash, this.clock.now());
    if (!holder || (proof.callerId !== undefined && proof.callerId !== holder.userId)) {
      throw new InvalidEmailChangeTokenError();
    }
    if (proof.password !== undefined) {
      await this.attempts.count(proof.clientIp, holder.email);
      if (!(await this.hasher.verify(holder.passwordHash, proof.password))) throw new WrongAccountPasswordError();
    }
    const changed = await translatingConstraintViolations(
      () =>
        this.transactions.run(async (manager) => {
          const now = this.clock.now();
          const change = await this.tokens.consume(tokenHash, now, manager);
          if (!change) return null;
          if (proof.password !== undefined) {
            // The account's row is locked now (consume): a reset committed since the check set another password.
            const current = await this.users.findById(change.userId, manager);
            if (current?.passwordHash !== holder.passwordHash) throw new WrongAccountPasswordError();
          }
          await this.refreshTokens.revokeUser(change.userId, now, manager);
          await this.sessions.endAll(change.userId, manager);
          await this.notices.record(
            {
              userId: change.userId,
              kind: 'email-changed',
              email: change.oldEmail,
              newEmail: change.newEmail,
              routingKey: ROUTING.accountNotice,
            },
            manager,
          );
          return change.userId;
        }),
      { [UNIQUE_VIOLATION]: () => new EmailTakenError() },
    );
    if (!changed) throw new InvalidEmailChangeTokenError();
    this.accounts.rememberVerified(changed);
  }
}
