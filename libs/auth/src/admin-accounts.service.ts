import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Env } from '@app/config';
import { AuthEventsRepository, AuthEventType, TransactionRunner, UserEntity, UsersRepository } from '@app/database';
import { accountEmail } from './accounts.service';
import { PasswordHasher } from './password-hasher';

const DEFAULT_ADMIN_NAME = 'Administrator';

/** Creates admins, or promotes existing accounts to admin. */
@Injectable()
export class AdminAccountsService {
  constructor(
    private readonly users: UsersRepository,
    private readonly events: AuthEventsRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * Afterwards an admin with this e-mail and password exists. Safe to run again and from several
   * processes at once: it is one INSERT … ON CONFLICT DO UPDATE.
   */
  async ensureAdmin(input: {
    email: string;
    password: string;
    name?: string;
  }): Promise<{ user: UserEntity; granted: boolean }> {
    const passwordHash = await this.hasher.hash(input.password);
    return this.transactions.run(async (manager) => {
      const { user, wasAdmin } = await this.users.upsertAdmin(
        { email: accountEmail(input.email), passwordHash, name: input.name ?? null },
        DEFAULT_ADMIN_NAME,
        manager,
      );
      if (!wasAdmin) await this.events.record(user.id, AuthEventType.AdminGranted, manager);
      return { user, granted: !wasAdmin };
    });
  }
}

/** Ensures the admin of ADMIN_EMAIL / ADMIN_PASSWORD at start, when both are set. */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrap.name);

  constructor(
    private readonly env: Env,
    private readonly admins: AdminAccountsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.env.ADMIN_EMAIL || !this.env.ADMIN_PASSWORD) return;
    const { user, granted } = await this.admins.ensureAdmin({
      email: this.env.ADMIN_EMAIL,
      password: this.env.ADMIN_PASSWORD,
    });
    this.logger.log(granted ? `admin ${user.email} created or promoted` : `admin ${user.email} is in place`);
  }
}
