import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Env } from '@app/config';
import { ROUTING } from '@app/messaging/contracts';
import { Clock, emailKey, NotFoundError } from '@app/core';
import {
  ACCOUNT_DELETE_ACTION,
  AccountDeletionsRepository,
  AccountNoticesRepository,
  AccountObligations,
  AdminAuditRepository,
  RefreshTokensRepository,
  Role,
  TransactionRunner,
  UsersRepository,
} from '@app/database';
import { AccountOperator, auditEntry } from './account-audit';
import { ACCOUNT_GONE, AccountsService, normalizeEmail } from './accounts.service';
import {
  AccountHasOpenPurchasesError,
  AdminAccountKeptError,
  InvalidTokenError,
  WrongAccountPasswordError,
} from './auth.errors';
import { PasswordAttempts } from './login-throttler.guard';
import { PasswordHasher } from './password-hasher';
import { SessionRevocations } from './session-revocations';

/**
 * What an account has outside PostgreSQL (Redis: holds, purchases not written behind yet), as a
 * deletion needs it; the api binds it to the ticketing library's (BuyerLiveState).
 */
export abstract class AccountLiveState {
  /** Ids of the account's paid online purchases not yet written to PostgreSQL (newest first). */
  abstract unflushedPurchases(userId: string): Promise<string[]>;

  /** Ends the account's live holds (their seats free again); answers how many it ended. */
  abstract releaseHolds(userId: string): Promise<number>;
}

/**
 * Deleting an account (GDPR Art. 17; accounts trial A4): by its owner, with its password, or by an
 * admin. The account's row stays (purchases, tickets and audit rows name it, for the books) and is
 * anonymised; every session of it ends; its live holds are released.
 */
@Injectable()
export class AccountDeletionService {
  private readonly logger = new Logger(AccountDeletionService.name);
  /** The e-mail key of ADMIN_EMAIL (the admin made again at every start), or null without one. */
  private readonly bootstrapAdminKey: string | null;

  constructor(
    private readonly users: UsersRepository,
    private readonly deletions: AccountDeletionsRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly notices: AccountNoticesRepository,
    private readonly transactions: TransactionRunner,
    private readonly revocations: SessionRevocations,
    private readonly accounts: AccountsService,
    private readonly attempts: PasswordAttempts,
    private readonly hasher: PasswordHasher,
    private readonly live: AccountLiveState,
    private readonly clock: Clock,
    private readonly audit: AdminAuditRepository,
    env: Env,
  ) {
    this.bootstrapAdminKey = env.ADMIN_EMAIL ? emailKey(normalizeEmail(env.ADMIN_EMAIL)) : null;
  }

  /**
   * The signed-in account `userId` deletes itself; `password` must be its password now, checked as
   * the login checks it, on the login's counter of `clientIp` and the account (PasswordAttempts).
   * Then as {@link delete}. Throws, changing nothing: InvalidTokenError (401) for an account gone
   * (or deleted already); TooManyPasswordAttemptsError (429); WrongAccountPasswordError (401) for a
   * password that is not the account's (also one a concurrent change or reset replaced meanwhile);
   * and what {@link delete} throws.
   */
  async deleteOwn(userId: string, password: string, clientIp: string): Promise<void> {
    const account = await this.users.findById(userId);
    if (!account || account.deletedAt) throw new InvalidTokenError(ACCOUNT_GONE);
    await this.attempts.count(clientIp, account.email);
    if (!(await this.hasher.verify(account.passwordHash, password))) throw new WrongAccountPasswordError();
    const deleted = await this.delete(userId, account.passwordHash, null);
    if (deleted === 'gone') throw new InvalidTokenError(ACCOUNT_GONE);
    if (deleted === 'password changed') throw new WrongAccountPasswordError();
  }

  /**
   * An admin deletes account `accountId` (on the account owner's request, by e-mail or at the
   * counter): as {@link delete}, recording `account.delete` by `operator` in the admin audit log in
   * the deletion's transaction (subject `account:<id>`, details the account's id and the role it
   * had; never its address). Throws NotFoundError('account') when no live account has this id (a
   * deleted one is none), and what {@link delete} throws, recording nothing.
   */
  async deleteByAdmin(accountId: string, operator: AccountOperator): Promise<void> {
    if ((await this.delete(accountId, null, operator)) !== 'deleted') {
      throw new NotFoundError('account', { id: accountId });
    }
  }

  /**
   * Deletes account `id`, in one transaction holding its row FOR UPDATE (as a password reset's
   * UPDATE holds it: a login or refresh racing it waits, then finds the account gone, or ends before
   * and its session is ended with the others): its e-mail becomes `deleted-<id>@invalid` (the old
   * address free to sign up again), its name empty, its password hash one of a random secret no one
   * keeps, its role USER, `deleted_at` set; its verification, reset and e-mail change tokens deleted;
   * every session ended (refresh tokens revoked, access tokens refused on every api: SessionRevocations);
   * its live holds released (Redis); ACCOUNT_DELETED recorded (the account's id, nothing else) with a
   * last notice to its old address ("your account was deleted", `account-notice:<record id>` in the
   * outbox, which drops the row once it is published).
   * After the commit its holds are released once more (a hold made by a request that was past the
   * access check when the sessions ended; a failure is logged: such a hold lapses at its expiry).
   * With `expectedHash`, only while the password hash is still that one. With `operator` (an
   * admin's deletion), `account.delete` is recorded in the admin audit log in the transaction.
   *
   * What it still has is read twice: before the transaction (a refusal then ends no session), and
   * inside it after its sessions ended and its holds were released (a purchase that sold meanwhile
   * is seen; one that did not finds its hold released. A refusal then has ended its sessions and
   * released its holds: the rollback does not bring them back; a refresh or login mends the first).
   * Answers 'gone' (no such live account) or 'password changed' without changing anything. Throws,
   * changing nothing: AccountHasOpenPurchasesError (409); AdminAccountKeptError (409) for the admin
   * of ADMIN_EMAIL (an ADMIN account with that address; a buyer with it is deleted) or the last admin; StoreUnavailableError (503) when Redis cannot answer.
   */
  private async delete(
    id: string,
    expectedHash: string | null,
    operator: AccountOperator | null,
  ): Promise<'deleted' | 'gone' | 'password changed'> {
    await this.refuseWhileOpen(id);
    // A password no one knows, as any stored hash is (argon2id of 32 random bytes, then forgotten).
    const unusableHash = await this.hasher.hash(randomBytes(32).toString('base64url'));
    const outcome = await this.transactions.run(async (manager) => {
      const account = await this.deletions.lock(id, manager);
      if (!account || account.deletedAt) return 'gone' as const;
      if (expectedHash !== null && account.passwordHash !== expectedHash) return 'password changed' as const;
      // An admin only: a buyer at ADMIN_EMAIL (who signed up with the address a bootstrap admin
      // left, which the start no longer promotes: admin_bootstrap) is no admin the start makes again.
      if (
        this.bootstrapAdminKey !== null &&
        account.role === Role.Admin &&
        account.emailKey === this.bootstrapAdminKey
      ) {
        throw new AdminAccountKeptError('BootstrapAdmin');
      }
      if (account.role === Role.Admin && (await this.deletions.otherAdmins(id, manager)) === 0) {
        throw new AdminAccountKeptError('LastAdmin');
      }
      await this.deletions.anonymise(id, unusableHash, manager);
      await this.refreshTokens.revokeUser(id, this.clock.now(), manager);
      await this.revocations.endAll(id, manager);
      // Its holds released before what it has is read again: a purchase racing the deletion either
      // sold its hold before (and is seen below: the deletion is refused) or finds it released (the
      // sale refused, its charge refunded). Released while the row is locked, so a refusal below
      // leaves them released (they were the holds of a buyer whose sessions just ended anyway).
      await this.live.releaseHolds(id);
      await this.refuseWhileOpen(id, manager);
      // ACCOUNT_DELETED with its last notice to the old address (the notice names the record).
      await this.notices.record(
        { userId: id, kind: 'account-deleted', email: account.email, routingKey: ROUTING.accountNotice },
        manager,
      );
      if (operator) {
        const entry = auditEntry(operator, ACCOUNT_DELETE_ACTION, id);
        await this.audit.recordIn({ ...entry, details: { ...entry.details, role: account.role } }, manager);
      }
      return 'deleted' as const;
    });
    if (outcome !== 'deleted') return outcome;
    this.accounts.forget(id);
    // Once more after the commit, for a hold whose request passed the access check just before the
    // sessions ended (on this api: during the transaction; on another, until the end reached it).
    try {
      const released = await this.live.releaseHolds(id);
      if (released > 0) this.logger.log(`account ${id} deleted: ${released} hold(s) made during its deletion released`);
    } catch (error) {
      this.logger.warn(
        `account ${id} deleted; a hold made meanwhile lapses at its expiry: ${(error as Error).message}`,
      );
    }
    return outcome;
  }

  /** Throws AccountHasOpenPurchasesError while account `id` has something still to come (see AccountObligations). */
  private async refuseWhileOpen(id: string, manager?: EntityManager): Promise<void> {
    const [owed, unflushed] = await Promise.all([
      this.deletions.obligations(id, manager),
      this.live.unflushedPurchases(id),
    ]);
    const purchaseIds = [...new Set([...owed.purchaseIds, ...unflushed])];
    const open: AccountObligations = {
      purchaseIds,
      ticketIds: owed.ticketIds,
      // A sold purchase's attempt stays CHARGED until `batch` completes it: listed once, as the purchase.
      paymentsInProgress: owed.paymentsInProgress.filter((id) => !purchaseIds.includes(id)),
    };
    if (open.purchaseIds.length + open.ticketIds.length + open.paymentsInProgress.length > 0) {
      throw new AccountHasOpenPurchasesError(open);
    }
  }
}
