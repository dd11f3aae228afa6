import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Env } from '@app/config';
import { assertSettablePassword, emailKey, guessablePasswordReason } from '@app/core';
import {
  AuthEventsRepository,
  AuthEventType,
  RefreshTokensRepository,
  TransactionRunner,
  UserEntity,
  UsersRepository,
} from '@app/database';
import { accountEmail } from './accounts.service';
import { PasswordHasher } from './password-hasher';
import { SessionRevocations } from './session-revocations';

const DEFAULT_ADMIN_NAME = 'Administrator';

/** Creates admins, or promotes existing accounts to admin. */
@Injectable()
export class AdminAccountsService {
  constructor(
    private readonly users: UsersRepository,
    private readonly events: AuthEventsRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly sessions: SessionRevocations,
  ) {}

  /**
   * Afterwards an admin with this e-mail and password exists. Safe to run again and from several
   * processes at once: it is one INSERT … ON CONFLICT DO UPDATE. An account that becomes an admin
   * here, or whose password changes, loses every session it had (its refresh tokens are revoked,
   * its access tokens refused on every api at once: SessionRevocations):
   * whoever signed up with the operator's address first, or knew the old password, keeps no way to
   * an admin token. The same password again (every start with ADMIN_PASSWORD) keeps the stored
   * hash and the sessions. InvalidInputError (nothing changed) for a password too easily guessed
   * (`guessablePasswordReason`, with the e-mail and the name the admin will have: `input.name`, else
   * the existing account's).
   */
  async ensureAdmin(input: {
    email: string;
    password: string;
    name?: string;
  }): Promise<{ user: UserEntity; granted: boolean }> {
    const prepared = await this.prepare(input);
    return this.transactions.run((manager) => this.grant(prepared, manager));
  }

  /**
   * The start's bootstrap of ADMIN_EMAIL/ADMIN_PASSWORD: {@link ensureAdmin}, remembering which
   * account it made or promoted and for which ADMIN_EMAIL (`admin_bootstrap`), unless that account
   * has since moved to another address (`POST /auth/email`, or by hand) while ADMIN_EMAIL is still
   * the one it was made for. Then nothing is created, promoted or changed (`moved`, with the
   * account as it is): the admin is the same person at a new address, and ADMIN_EMAIL is only
   * where it started. Whoever has the address it left (a signup since) is not promoted either.
   * With ADMIN_EMAIL set to another address (the admin's new one, or a new operator's), or no
   * account recorded yet (a first start, or the first one after the upgrade), it is ensureAdmin
   * as before, and that account is recorded. Bootstraps starting together take turns on the record,
   * and a confirm of a change of the recorded admin's address takes turns with them on its row.
   * Throws what ensureAdmin throws.
   */
  async bootstrapAdmin(input: {
    email: string;
    password: string;
  }): Promise<{ outcome: 'ensured'; user: UserEntity; granted: boolean } | { outcome: 'moved'; user: UserEntity }> {
    const email = accountEmail(input.email);
    // A read first: a moved admin's start costs no argon2 hash and checks no password against the
    // name of whoever took the address.
    const early = await this.transactions.run((manager) => this.movedBootstrapAdmin(email, manager));
    if (early) return { outcome: 'moved', user: early };
    const prepared = await this.prepare(input);
    return this.transactions.run(async (manager) => {
      const moved = await this.movedBootstrapAdmin(email, manager);
      if (moved) return { outcome: 'moved', user: moved };
      const ensured = await this.grant(prepared, manager);
      await this.users.recordBootstrapAdmin(ensured.user.id, email, manager);
      return { outcome: 'ensured', ...ensured };
    });
  }

  /**
   * The bootstrap's recorded admin when it was made for ADMIN_EMAIL `email` and has another address
   * now; null otherwise. Locks the record and then that account's row (as a change of its address
   * does) until `manager`'s transaction ends.
   */
  private async movedBootstrapAdmin(email: string, manager: EntityManager): Promise<UserEntity | null> {
    const recorded = await this.users.lockBootstrapAdmin(manager);
    if (recorded.userId === null || recorded.emailKey !== emailKey(email)) return null;
    const admin = await this.users.lockForChange(recorded.userId, manager);
    return admin && admin.emailKey !== recorded.emailKey ? admin : null;
  }

  /** ensureAdmin's checks and hash, before its transaction (see there). */
  private async prepare(input: { email: string; password: string; name?: string }): Promise<PreparedAdmin> {
    assertSettablePassword(input.password, { email: input.email, name: input.name });
    const email = accountEmail(input.email);
    const existing = await this.users.findByEmail(email);
    // An account promoted without a name keeps its own (upsertAdmin): that name is refused too.
    if (existing && !input.name) assertSettablePassword(input.password, { name: existing.name });
    // A stored value that is no argon2 hash (set by hand) cannot be the same password.
    const samePassword =
      existing !== null && (await this.hasher.verify(existing.passwordHash, input.password).catch(() => false));
    const passwordHash = samePassword ? existing.passwordHash : await this.hasher.hash(input.password);
    return { email, passwordHash, name: input.name ?? null, samePassword };
  }

  /** ensureAdmin's transaction (see there), in `manager`'s. */
  private async grant(admin: PreparedAdmin, manager: EntityManager): Promise<{ user: UserEntity; granted: boolean }> {
    const { user, wasAdmin } = await this.users.upsertAdmin(
      { email: admin.email, passwordHash: admin.passwordHash, name: admin.name },
      DEFAULT_ADMIN_NAME,
      manager,
    );
    if (!wasAdmin) await this.events.record(user.id, AuthEventType.AdminGranted, manager);
    if (!wasAdmin || !admin.samePassword) {
      await this.refreshTokens.revokeUser(user.id, new Date(), manager);
      await this.sessions.endAll(user.id, manager);
    }
    return { user, granted: !wasAdmin };
  }
}

/** An admin to ensure, checked and hashed (see AdminAccountsService.ensureAdmin). */
interface PreparedAdmin {
  email: string;
  passwordHash: string;
  name: string | null;
  /** Whether `passwordHash` is the existing account's own (the same password given again). */
  samePassword: boolean;
}

/**
 * Ensures the admin of ADMIN_EMAIL / ADMIN_PASSWORD at start, when both are set; an ADMIN_PASSWORD
 * too easily guessed (`guessablePasswordReason`) stops the start with an error naming it.
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrap.name);

  constructor(
    private readonly env: Env,
    private readonly admins: AdminAccountsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.env.ADMIN_EMAIL || !this.env.ADMIN_PASSWORD) return;
    const weak = guessablePasswordReason(this.env.ADMIN_PASSWORD, { email: this.env.ADMIN_EMAIL });
    if (weak !== null) throw new Error(`ADMIN_PASSWORD: ${weak}`);
    const done = await this.admins.bootstrapAdmin({
      email: this.env.ADMIN_EMAIL,
      password: this.env.ADMIN_PASSWORD,
    });
    if (done.outcome === 'moved' && done.user.deletedAt) {
      // Deleted (DELETE /users/me, DELETE /admin/users/:id: its address anonymised) after it moved
      // away from ADMIN_EMAIL; whoever has ADMIN_EMAIL now is still not promoted.
      this.logger.warn(
        `ADMIN_EMAIL ${this.env.ADMIN_EMAIL}: the admin made for it (account ${done.user.id}) moved to another address ` +
          'and was deleted since; nothing created or changed. Set ADMIN_EMAIL to the address of a new admin to make ' +
          'one at the next start, or unset ADMIN_EMAIL and ADMIN_PASSWORD',
      );
      return;
    }
    if (done.outcome === 'moved') {
      this.logger.warn(
        `ADMIN_EMAIL ${this.env.ADMIN_EMAIL}: the admin made for it (account ${done.user.id}) has changed its address ` +
          `to ${done.user.email}; nothing created or changed. Set ADMIN_EMAIL to ${done.user.email} to keep managing ` +
          'its password from ADMIN_PASSWORD, or unset both',
      );
      return;
    }
    const { user, granted } = done;
    this.logger.log(granted ? `admin ${user.email} created or promoted` : `admin ${user.email} is in place`);
  }
}
