import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Env } from '@app/config';
import { assertSettablePassword, guessablePasswordReason } from '@app/core';
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
    assertSettablePassword(input.password, { email: input.email, name: input.name });
    const email = accountEmail(input.email);
    const existing = await this.users.findByEmail(email);
    // An account promoted without a name keeps its own (upsertAdmin): that name is refused too.
    if (existing && !input.name) assertSettablePassword(input.password, { name: existing.name });
    // A stored value that is no argon2 hash (set by hand) cannot be the same password.
    const samePassword =
      existing !== null && (await this.hasher.verify(existing.passwordHash, input.password).catch(() => false));
    const passwordHash = samePassword ? existing.passwordHash : await this.hasher.hash(input.password);
    return this.transactions.run(async (manager) => {
      const { user, wasAdmin } = await this.users.upsertAdmin(
        { email, passwordHash, name: input.name ?? null },
        DEFAULT_ADMIN_NAME,
        manager,
      );
      if (!wasAdmin) await this.events.record(user.id, AuthEventType.AdminGranted, manager);
      if (!wasAdmin || !samePassword) {
        await this.refreshTokens.revokeUser(user.id, new Date(), manager);
        await this.sessions.endAll(user.id, manager);
      }
      return { user, granted: !wasAdmin };
    });
  }
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
    const { user, granted } = await this.admins.ensureAdmin({
      email: this.env.ADMIN_EMAIL,
      password: this.env.ADMIN_PASSWORD,
    });
    this.logger.log(granted ? `admin ${user.email} created or promoted` : `admin ${user.email} is in place`);
  }
}
