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
import { InvalidInputError } from '@app/core';
import { PasswordHasher } from './password-hasher';

export interface SignupInput {
  email: string;
  password: string;
  name: string;
}

/** The 401 message for a well-signed token whose account is not in PostgreSQL. */
export const ACCOUNT_GONE = 'the account of this token no longer exists';

/**
 * Most account ids {@link AccountsService.ensureExists} remembers per process (about 100 bytes
 * each); past it the oldest is forgotten and read again on its next use.
 */
const KNOWN_ACCOUNTS_LIMIT = 100_000;

/**
 * How long (ms) {@link AccountsService.ensureExists} trusts an account it found: an account
 * deleted by hand in PostgreSQL is refused by every process within this time. A purchase made in
 * it before then cannot be written (the flusher parks it, the payment reconciler refunds it).
 */
const KNOWN_ACCOUNT_MS = 60_000;

/** Creating accounts and reading them. */
@Injectable()
export class AccountsService {
  /**
   * Ids of accounts this process has seen in PostgreSQL, oldest first, each with the time (ms since
   * the epoch) until which it is trusted. The api never deletes an account (no route or CLI command
   * does), but an operator may, by hand: the entry ages out after {@link KNOWN_ACCOUNT_MS}.
   */
  private readonly known = new Map<string, number>();

  constructor(
    private readonly users: UsersRepository,
    private readonly events: AuthEventsRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * Creates an account and its audit record in one transaction: a user (signup), or door staff
   * (`Role.Staff`, made by an admin). A taken e-mail (also when a concurrent signup takes it
   * first) is an EmailTakenError, never a database error.
   */
  async signup(input: SignupInput, role: Role.User | Role.Staff = Role.User): Promise<UserEntity> {
    const passwordHash = await this.hasher.hash(input.password);
    return this.transactions.run(async (manager) => {
      const user = await this.users.insertIfEmailFree(
        { email: accountEmail(input.email), name: input.name, role, passwordHash },
        manager,
      );
      if (!user) throw new EmailTakenError();
      await this.events.record(
        user.id,
        role === Role.Staff ? AuthEventType.StaffCreated : AuthEventType.SignedUp,
        manager,
      );
      return user;
    });
  }

  /** The caller's own account; a valid token whose account was deleted since is no longer good. */
  async getOwnAccount(id: string): Promise<UserEntity> {
    const user = await this.users.findById(id);
    if (!user) throw new InvalidTokenError(ACCOUNT_GONE);
    return user;
  }

  /**
   * Whether the account `id` is known to exist: true from this process's memory (a Map lookup, no
   * promise) when it was found in the last {@link KNOWN_ACCOUNT_MS}; otherwise a promise that reads
   * PostgreSQL once, remembers the id and resolves, or
   * rejects with InvalidTokenError (401, {@link ACCOUNT_GONE}) when there is no such account (a
   * token signed for a deleted user, a restored database, a secret shared between environments).
   */
  ensureExists(id: string): true | Promise<true> {
    const trustedUntil = this.known.get(id);
    if (trustedUntil !== undefined && trustedUntil > Date.now()) return true;
    return this.users.findById(id).then((user) => {
      this.known.delete(id);
      if (!user) throw new InvalidTokenError(ACCOUNT_GONE);
      if (this.known.size >= KNOWN_ACCOUNTS_LIMIT) this.known.delete(this.known.keys().next().value!);
      this.known.set(id, Date.now() + KNOWN_ACCOUNT_MS);
      return true;
    });
  }
}

/**
 * The one spelling of an e-mail address that accounts are keyed by: trimmed, Unicode NFKC (so a
 * decomposed "é" is the precomposed one, and a fullwidth "ａ" is "a"), lower-cased, and NFKC
 * again (lower-casing can decompose: "İ" becomes "i" and a combining dot, which stays a mark and
 * is refused, see {@link INVISIBLE_IN_EMAIL}).
 */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
}

/**
 * Characters no normalized e-mail address may hold: controls, format characters (zero-width space
 * and joiner, soft hyphen, bidi marks), any space, and combining marks left after normalization
 * (a dot or accent over a letter that has no precomposed form). Each would make a lookalike of
 * another address.
 */
export const INVISIBLE_IN_EMAIL = /[\p{Cc}\p{Cf}\p{Z}\p{M}]/u;

/** The normalized address; InvalidInputError when it holds a character of {@link INVISIBLE_IN_EMAIL}. */
export function accountEmail(email: string): string {
  const normalized = normalizeEmail(email);
  if (INVISIBLE_IN_EMAIL.test(normalized)) {
    throw new InvalidInputError('email must not contain spaces, control, invisible or combining characters');
  }
  return normalized;
}
