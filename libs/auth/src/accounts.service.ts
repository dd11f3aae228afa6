import { Injectable } from '@nestjs/common';
import {
  AuthEventsRepository,
  AuthEventType,
  Role,
  TransactionRunner,
  UserEntity,
  UsersRepository,
} from '@app/database';
import { EmailTakenError, InvalidTokenError } from './auth.errors';
import { PasswordHasher } from './password-hasher';

export interface SignupInput {
  email: string;
  password: string;
  name: string;
}

/** Creating accounts and reading them. */
@Injectable()
export class AccountsService {
  constructor(
    private readonly users: UsersRepository,
    private readonly events: AuthEventsRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * Creates a user account and its audit record in one transaction. A taken e-mail (also when a
   * concurrent signup takes it first) is an EmailTakenError, never a database error.
   */
  async signup(input: SignupInput): Promise<UserEntity> {
    const passwordHash = await this.hasher.hash(input.password);
    return this.transactions.run(async (manager) => {
      const user = await this.users.insertIfEmailFree(
        { email: normalizeEmail(input.email), name: input.name, role: Role.User, passwordHash },
        manager,
      );
      if (!user) throw new EmailTakenError();
      await this.events.record(user.id, AuthEventType.SignedUp, manager);
      return user;
    });
  }

  /** The caller's own account; a valid token whose account was deleted since is no longer good. */
  async getOwnAccount(id: string): Promise<UserEntity> {
    const user = await this.users.findById(id);
    if (!user) throw new InvalidTokenError('the account of this token no longer exists');
    return user;
  }
}

/**
 * The one spelling of an e-mail address that accounts are keyed by: trimmed, Unicode NFC (so a
 * precomposed and a decomposed "é" are one address), lower-cased.
 */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

/**
 * Characters no e-mail address may hold: controls, format characters (zero-width space and
 * joiner, soft hyphen, bidi marks) and any space. Each would make a lookalike of another address.
 */
export const INVISIBLE_IN_EMAIL = /[\p{Cc}\p{Cf}\p{Z}]/u;
