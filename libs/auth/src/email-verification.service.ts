import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Env } from '@app/config';
import { Clock } from '@app/core';
import {
  AuthEventsRepository,
  AuthEventType,
  EmailVerificationIssue,
  EmailVerificationTokensRepository,
  Role,
  TransactionRunner,
  UserEntity,
  UsersRepository,
} from '@app/database';
import {
  EMAIL_VERIFICATION_TYPE,
  emailVerificationMailKey,
  emailVerificationMessageId,
  ROUTING,
} from '@app/messaging/contracts';
import { ACCOUNT_GONE, AccountsService, SignupInput } from './accounts.service';
import {
  EmailAlreadyVerifiedError,
  InvalidTokenError,
  InvalidVerificationTokenError,
  TooManyVerificationEmailsError,
  VerificationOwnerRequiredError,
  WrongAccountPasswordError,
} from './auth.errors';
import { PasswordAttempts } from './login-throttler.guard';
import { MAIL_TOKEN_LIMITS, MailTokenKind, newMailTokenRequest } from './mail-token';
import { PasswordHasher } from './password-hasher';
import { hashToken } from './token.service';

/**
 * What proves that a confirm comes from the account's author, beside the token (which proves the
 * inbox): `callerId`, the account of a valid access token sent with it; `password`, the account's
 * password, counted as a login attempt from `clientIp`. Either, or both (then both must hold).
 */
export interface VerificationOwnerProof {
  callerId?: string;
  password?: string;
  /** The client's address (behind TRUST_PROXY): the password attempts' counter is per address and account. */
  clientIp: string;
}

/** A verification request's outbox message: an `EmailVerificationMessage` of `@app/messaging/contracts`. */
const VERIFICATION_MAIL: MailTokenKind = {
  type: EMAIL_VERIFICATION_TYPE,
  idField: 'verificationId',
  routingKey: ROUTING.emailVerification,
  messageId: emailVerificationMessageId,
};

/**
 * Confirming an account's e-mail address: signup, and a later request, store a single-use token
 * (its SHA-256 only) valid EMAIL_VERIFICATION_TTL_HOURS and send it to the address through the
 * outbox, sealed as a password reset's is; the token then marks the account verified
 * (`users.email_verified_at`) once. Per account at most MAIL_TOKEN_LIMITS, as password resets.
 */
@Injectable()
export class EmailVerificationService {
  /** Seals the token in its message: only the api and the mailer read it there. */
  private readonly mailKey: Buffer;

  constructor(
    private readonly tokens: EmailVerificationTokensRepository,
    private readonly users: UsersRepository,
    private readonly accounts: AccountsService,
    private readonly events: AuthEventsRepository,
    private readonly transactions: TransactionRunner,
    private readonly hasher: PasswordHasher,
    private readonly attempts: PasswordAttempts,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {
    this.mailKey = emailVerificationMailKey(env.TICKET_SIGNING_SECRET!);
  }

  /**
   * Creates a buyer's account (AccountsService.signup: EmailTakenError for a taken e-mail) and, in
   * the same transaction, its first verification token and e-mail.
   */
  signup(input: SignupInput): Promise<UserEntity> {
    return this.accounts.signup(input, Role.User, async (user, manager) => {
      await this.issue(user.id, manager);
    });
  }

  /**
   * Sends account `userId` a new verification e-mail (its earlier tokens keep working, up to
   * MAIL_TOKEN_LIMITS.liveTokens). Throws TooManyVerificationEmailsError (429, with the seconds
   * until one may be sent again) when the account was issued MAIL_TOKEN_LIMITS.issuedPerWindow
   * tokens within the window, sending and storing nothing; EmailAlreadyVerifiedError (409) for a
   * confirmed address; InvalidTokenError (401, {@link ACCOUNT_GONE}) when the account no longer exists.
   */
  async request(userId: string): Promise<void> {
    const issued = await this.issue(userId);
    switch (issued.outcome) {
      case 'verified':
        throw new EmailAlreadyVerifiedError();
      case 'no-account':
        throw new InvalidTokenError(ACCOUNT_GONE);
      case 'limited':
        throw new TooManyVerificationEmailsError(issued.retryAfterSeconds, MAIL_TOKEN_LIMITS);
    }
  }

  /**
   * Marks the account of `token` verified and uses the token up (with every other verification
   * token of the account), recording EMAIL_VERIFIED, in one transaction; this process lets the
   * account through the verification gate at once (AccountsService.rememberVerified). Of concurrent
   * confirms of one account's tokens exactly one succeeds.
   *
   * The token proves the inbox; `proof` must prove the account's author too, or whoever signed up
   * with someone else's address (and a password of their own) would own a verified account the
   * moment its owner clicks the link (account pre-hijacking). Throws, changing nothing (the token
   * still works): VerificationOwnerRequiredError (401) with neither an access token nor a password;
   * InvalidVerificationTokenError (400) for a token unknown, used (or another of the account's
   * was), dropped as the oldest of too many, voided by a change of e-mail, or expired, without
   * saying which, and alike for another account's access token; TooManyPasswordAttemptsError (429,
   * Retry-After) past the login's limit of password attempts (PasswordAttempts, counted with the
   * login's); WrongAccountPasswordError (401) for a password not the account's (also one changed by
   * a reset while this confirm ran).
   */
  async confirm(token: string, proof: VerificationOwnerProof): Promise<void> {
    if (proof.callerId === undefined && proof.password === undefined) throw new VerificationOwnerRequiredError();
    const tokenHash = hashToken(token);
    // A read first: a wrong token costs no argon2 hash and no password attempt.
    const holder = await this.tokens.holderOfLive(tokenHash, this.clock.now());
    if (!holder || (proof.callerId !== undefined && proof.callerId !== holder.userId)) {
      throw new InvalidVerificationTokenError();
    }
    if (proof.password !== undefined) {
      await this.attempts.count(proof.clientIp, holder.email);
      if (!(await this.hasher.verify(holder.passwordHash, proof.password))) throw new WrongAccountPasswordError();
    }
    const userId = await this.transactions.run(async (manager) => {
      const verified = await this.tokens.consume(tokenHash, this.clock.now(), manager);
      if (!verified) return null;
      if (proof.password !== undefined) {
        // The account's row is locked now (consume): a reset committed since the check set another password.
        const current = await this.users.findById(verified, manager);
        if (current?.passwordHash !== holder.passwordHash) throw new WrongAccountPasswordError();
      }
      await this.events.record(verified, AuthEventType.EmailVerified, manager);
      return verified;
    });
    if (!userId) throw new InvalidVerificationTokenError();
    this.accounts.rememberVerified(userId);
  }

  /** Stores a new token for `userId` and writes its e-mail's outbox row, in `manager`'s transaction when given. */
  private issue(userId: string, manager?: EntityManager): Promise<EmailVerificationIssue> {
    const ttlMs = this.env.EMAIL_VERIFICATION_TTL_HOURS * 3_600_000;
    const { requestId: verificationId, request } = newMailTokenRequest(
      VERIFICATION_MAIL,
      this.mailKey,
      this.clock.now(),
      ttlMs,
    );
    return this.tokens.issue({ userId, verificationId, ...request }, manager);
  }
}
