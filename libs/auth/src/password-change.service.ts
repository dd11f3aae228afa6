import { Injectable } from '@nestjs/common';
import {
  AccountNoticesRepository,
  EmailChangeTokensRepository,
  RefreshTokensRepository,
  TransactionRunner,
  UsersRepository,
} from '@app/database';
import { assertSettablePassword, Clock, emailKey } from '@app/core';
import { ROUTING } from '@app/messaging/contracts';
import { InvalidTokenError, SessionEndedError, WrongAccountPasswordError } from './auth.errors';
import { PasswordAttempts } from './login-throttler.guard';
import { PasswordHasher } from './password-hasher';
import { SessionRevocations } from './session-revocations';
import { SessionsService, TokenPair } from './sessions.service';

/** The signed-in account's change of its own password. */
@Injectable()
export class PasswordChangeService {
  constructor(
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly notices: AccountNoticesRepository,
    private readonly emailChanges: EmailChangeTokensRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
    private readonly attempts: PasswordAttempts,
    private readonly revocations: SessionRevocations,
    private readonly sessions: SessionsService,
    private readonly clock: Clock,
  ) {}

  /**
   * Sets `newPassword` on the account of `caller` (the access token's account and the address it
   * names) when `currentPassword` is its password, and ends every session of the account (its
   * refresh tokens revoked, its access tokens refused on every api: SessionRevocations), voiding its
   * pending changes of address, recording PASSWORD_CHANGED and queueing the "your password was
   * changed" notice to its address, in one transaction; then answers a new token pair, the one
   * session left. The current password is counted on the login's counter of `clientIp` and the
   * account (PasswordAttempts), so the route adds no guesses to the login's.
   *
   * The transaction first locks the account's row, as a token's consume (a confirmed change of
   * address, a reset) does, and reads it there: a change of address that committed while this one
   * ran ended the caller's session (its token names the old address), so the change is refused
   * rather than made by an ended session with its notice to an address the account no longer has.
   *
   * Throws, changing nothing: InvalidInputError (400) for a new password too easily guessed
   * (`guessablePasswordReason`, with the account's e-mail and name); TooManyPasswordAttemptsError
   * (429) past the login's limit; WrongAccountPasswordError (401) for a current password that is not
   * the account's, also one a concurrent change or reset replaced meanwhile; SessionEndedError (401)
   * when the account's address is no longer the one `caller`'s token names (a change of e-mail
   * confirmed before or during this one ended every session); InvalidTokenError (401) for an account
   * that is gone; StoreUnavailableError (503) when Redis cannot announce the end of the sessions.
   */
  async change(
    caller: { id: string; email: string },
    currentPassword: string,
    newPassword: string,
    clientIp: string,
  ): Promise<TokenPair> {
    const userId = caller.id;
    const account = await this.users.findById(userId);
    if (!account) throw new InvalidTokenError('the account no longer exists');
    assertSettablePassword(newPassword, { email: account.email, name: account.name });
    await this.attempts.count(clientIp, account.email);
    if (!(await this.hasher.verify(account.passwordHash, currentPassword))) throw new WrongAccountPasswordError();
    const passwordHash = await this.hasher.hash(newPassword);
    const email = await this.transactions.run(async (manager) => {
      const current = await this.users.lockForChange(userId, manager);
      if (!current) throw new InvalidTokenError('the account no longer exists');
      if (current.emailKey !== emailKey(caller.email)) throw new SessionEndedError();
      if (!(await this.users.replacePasswordHash(userId, account.passwordHash, passwordHash, manager))) return null;
      await this.refreshTokens.revokeUser(userId, this.clock.now(), manager);
      await this.revocations.endAll(userId, manager);
      await this.emailChanges.voidAll(userId, manager);
      await this.notices.record(
        { userId, kind: 'password-changed', email: current.email, routingKey: ROUTING.accountNotice },
        manager,
      );
      return current.email;
    });
    if (email === null) throw new WrongAccountPasswordError();
    return this.sessions.login(email, newPassword);
  }
}
