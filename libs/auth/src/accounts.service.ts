import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Env } from '@app/config';
import {
  AuthEventsRepository,
  AuthEventType,
  Role,
  TransactionRunner,
  UserEntity,
  UsersRepository,
} from '@app/database';
import { EmailNotVerifiedError, EmailTakenError, InvalidTokenError } from './auth.errors';
import { assertSettablePassword, Clock, InvalidInputError, isUuid } from '@app/core';
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
export const KNOWN_ACCOUNT_MS = 60_000;

/**
 * How long (ms) {@link AccountsService.ensureVerified} trusts that an account it found has NOT
 * confirmed its e-mail, while EMAIL_VERIFICATION_REQUIRED: a buyer who confirms on another api
 * process is let in by this one within this time (the process that took the confirm lets them in
 * at once, {@link AccountsService.rememberVerified}). A confirmed address is trusted for
 * {@link KNOWN_ACCOUNT_MS}, as the account's existence is; with verification not required, both are.
 */
export const UNVERIFIED_ACCOUNT_MS = 2_000;

/** What a process remembers of an account it found in PostgreSQL. */
interface KnownAccount {
  /** Until when (ms since the epoch) it trusts this. */
  trustedUntil: number;
  emailVerified: boolean;
  /** Its role as PostgreSQL has it: an access token may name a role taken away since (staff revoked). */
  role: Role;
}

/**
 * Most account ids one query of {@link AccountsService.ensureExists} asks PostgreSQL about; more
 * waiting ids are asked about in further queries sent at the same time.
 */
const ACCOUNT_LOOKUP_BATCH = 1000;

/** An id waiting for the next lookup query, with its callers' promise to settle. */
interface QueuedLookup {
  id: string;
  resolve: (known: KnownAccount) => void;
  reject: (error: unknown) => void;
}

/** Creating accounts and reading them. */
@Injectable()
export class AccountsService {
  /**
   * Accounts this process has seen in PostgreSQL, oldest first, each with whether its e-mail was
   * confirmed and the time until which that is trusted. A deleted account (AccountDeletionService:
   * its row kept, `deleted_at` set) is forgotten by the process that deleted it at once, and its
   * sessions end on every api; a row an operator deletes by hand is not announced: the entry ages out after
   * {@link KNOWN_ACCOUNT_MS} ({@link UNVERIFIED_ACCOUNT_MS} for an unconfirmed address while
   * verification is required).
   */
  private readonly known = new Map<string, KnownAccount>();

  /** Lookups queued or in flight, by account id: concurrent callers for one id share one. */
  private readonly lookups = new Map<string, Promise<KnownAccount>>();

  /** How long an unconfirmed address is trusted to stay unconfirmed (see {@link UNVERIFIED_ACCOUNT_MS}). */
  private readonly unverifiedTrustMs: number;

  /** Ids waiting for the lookup query the next `setImmediate` sends. */
  private queued: QueuedLookup[] = [];

  constructor(
    private readonly users: UsersRepository,
    private readonly events: AuthEventsRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
    env: Env,
  ) {
    this.unverifiedTrustMs = env.EMAIL_VERIFICATION_REQUIRED ? UNVERIFIED_ACCOUNT_MS : KNOWN_ACCOUNT_MS;
  }

  /**
   * Creates an account and its audit record in one transaction: a user (signup), or door staff
   * (`Role.Staff`, made by an admin), not yet verified. `andThen` runs in the same transaction with
   * the new account (signup's verification e-mail), so both or neither are stored. A taken e-mail
   * (also when a concurrent signup takes it first) is an EmailTakenError, never a database error;
   * a password too easily guessed (`guessablePasswordReason`) an InvalidInputError, storing nothing.
   */
  async signup(
    input: SignupInput,
    role: Role.User | Role.Staff = Role.User,
    andThen?: (user: UserEntity, manager: EntityManager) => Promise<void>,
  ): Promise<UserEntity> {
    assertSettablePassword(input.password, { email: input.email, name: input.name });
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
      await andThen?.(user, manager);
      return user;
    });
  }

  /** The caller's own account; a valid token whose account was deleted since is no longer good. */
  async getOwnAccount(id: string): Promise<UserEntity> {
    const user = await this.users.findById(id);
    if (!user || user.deletedAt) throw new InvalidTokenError(ACCOUNT_GONE);
    return user;
  }

  /**
   * Whether the account `id` is known to exist: true from this process's memory (a Map lookup, no
   * promise) when it was found in the last {@link KNOWN_ACCOUNT_MS} (an unconfirmed one while
   * verification is required: {@link UNVERIFIED_ACCOUNT_MS}); otherwise a promise that
   * resolves once PostgreSQL has it (and remembers the id), or rejects with InvalidTokenError (401,
   * {@link ACCOUNT_GONE}) when there is no such account (a token signed for a deleted user, a
   * restored database, a secret shared between environments), or with the database's error.
   *
   * The ids asked about in one turn of the event loop are looked up together, in one query per
   * {@link ACCOUNT_LOOKUP_BATCH} ids sent after the turn's I/O (`setImmediate`): when an on-sale
   * opens on a freshly started api every buyer is unknown to it, and one query per buyer would
   * queue thousands of requests on the connection pool (503 once they wait longer than
   * `DATABASE_ACQUIRE_TIMEOUT_MS`).
   */
  ensureExists(id: string): true | Promise<true> {
    if (this.trusted(id)) return true;
    return this.lookUpOne(id).then(() => true);
  }

  /**
   * As {@link ensureExists}, and refuses (403, EmailNotVerifiedError) an account whose e-mail is
   * not confirmed: from the same memory and the same batched lookup, so checking it costs the hold
   * route no query of its own. An unconfirmed address is trusted to stay so for
   * {@link UNVERIFIED_ACCOUNT_MS} (while EMAIL_VERIFICATION_REQUIRED), a confirmed one for
   * {@link KNOWN_ACCOUNT_MS}.
   */
  ensureVerified(id: string): true | Promise<true> {
    const known = this.trusted(id);
    if (known) return verifiedOrRefused(known);
    return this.lookUpOne(id).then(verifiedOrRefused);
  }

  /**
   * Remembers that account `id` has just confirmed its e-mail (this process took the confirm), so
   * {@link ensureVerified} lets it in at once here; other processes read it within
   * {@link UNVERIFIED_ACCOUNT_MS}.
   */
  rememberVerified(id: string): void {
    const role = this.known.get(id)?.role ?? Role.User;
    this.remember(id, { emailVerified: true, role }, this.clock.now().getTime());
  }

  /**
   * Forgets account `id` (this process has just deleted it): its next check reads PostgreSQL, which
   * no longer answers it as an account (UsersRepository.existingAccounts). Other processes refuse
   * its tokens anyway (its sessions ended) and forget it within {@link KNOWN_ACCOUNT_MS}.
   */
  forget(id: string): void {
    this.known.delete(id);
  }

  /** What this process trusts of account `id` now, if anything. */
  private trusted(id: string): KnownAccount | undefined {
    const known = this.known.get(id);
    return known !== undefined && known.trustedUntil > this.clock.now().getTime() ? known : undefined;
  }

  /**
   * Account `id` from PostgreSQL, through the next batched lookup (a caller for an id already
   * queued or in flight shares its lookup).
   */
  private lookUpOne(id: string): Promise<KnownAccount> {
    let lookup = this.lookups.get(id);
    if (!lookup) {
      lookup = new Promise<KnownAccount>((resolve, reject) => {
        if (this.queued.push({ id, resolve, reject }) === 1) setImmediate(() => this.lookUpQueued());
      });
      this.lookups.set(id, lookup);
    }
    return lookup;
  }

  /** Remembers account `id`, newest, past {@link KNOWN_ACCOUNTS_LIMIT} forgetting the oldest. */
  private remember(id: string, account: { emailVerified: boolean; role: Role }, now: number): KnownAccount {
    this.known.delete(id);
    if (this.known.size >= KNOWN_ACCOUNTS_LIMIT) this.known.delete(this.known.keys().next().value!);
    // An unconfirmed staff or admin account is let through, but trusted to stay staff only as long
    // as an unconfirmed buyer is trusted to stay unconfirmed: a revoked role is read again soon.
    const trustMs = account.emailVerified ? KNOWN_ACCOUNT_MS : this.unverifiedTrustMs;
    const known = { trustedUntil: now + trustMs, ...account };
    this.known.set(id, known);
    return known;
  }

  /** Sends the queued ids' lookups, {@link ACCOUNT_LOOKUP_BATCH} ids a query, all at once. */
  private lookUpQueued(): void {
    const queued = this.queued;
    this.queued = [];
    for (let start = 0; start < queued.length; start += ACCOUNT_LOOKUP_BATCH) {
      void this.lookUp(queued.slice(start, start + ACCOUNT_LOOKUP_BATCH));
    }
  }

  /** Settles each of `batch` by one query: found accounts are remembered, missing ones refused. */
  private async lookUp(batch: QueuedLookup[]): Promise<void> {
    let found: Map<string, { emailVerified: boolean; role: Role }>;
    try {
      // A token carries the id it was signed for; one that is not a UUID is no account.
      const ids = batch.map(({ id }) => id).filter(isUuid);
      found = ids.length > 0 ? await this.users.existingAccounts(ids) : new Map();
    } catch (error) {
      for (const { id, reject } of batch) {
        this.lookups.delete(id);
        reject(error);
      }
      return;
    }
    const now = this.clock.now().getTime();
    for (const { id, resolve, reject } of batch) {
      this.lookups.delete(id);
      const account = found.get(id);
      if (account === undefined) {
        this.known.delete(id);
        reject(new InvalidTokenError(ACCOUNT_GONE));
        continue;
      }
      // A confirm this process took while the query was on its way outranks the query's older answer.
      const confirmed = this.known.get(id);
      if (!account.emailVerified && confirmed?.emailVerified && confirmed.trustedUntil > now) {
        resolve(this.remember(id, { emailVerified: true, role: account.role }, now));
        continue;
      }
      resolve(this.remember(id, account, now));
    }
  }
}

/**
 * Lets through an account whose e-mail is confirmed, or whose stored role is staff or admin (made
 * by an admin or the operator, not by anyone on the internet); refuses an unconfirmed buyer.
 */
function verifiedOrRefused(known: KnownAccount): true {
  if (!known.emailVerified && known.role === Role.User) throw new EmailNotVerifiedError();
  return true;
}

/**
 * The spelling of an e-mail address an account keeps (and mail is sent to): trimmed, Unicode NFKC (so a
 * decomposed "é" is the precomposed one, and a fullwidth "ａ" is "a"), lower-cased, and NFKC
 * again (lower-casing can decompose: "İ" becomes "i" and a combining dot, which stays a mark and
 * is refused, see {@link INVISIBLE_IN_EMAIL}). Accounts are unique by, and looked up by, the
 * address's full case fold (`emailKey` in libs/core), which lower-casing alone is not ("ß"/"ss").
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
