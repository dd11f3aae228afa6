import { describe, expect, it } from 'vitest';
import { Env, parseEnv } from '@app/config';
import { FakeClock } from '@app/testing';
import {
  AuthEventType,
  type AuthEventsRepository,
  type EmailVerificationIssue,
  type EmailVerificationTokensRepository,
  type NewEmailVerification,
  Role,
  type TransactionRunner,
  type UserEntity,
  type UsersRepository,
} from '@app/database';
import { emailVerificationMailKey, openMailToken, ROUTING } from '@app/messaging/contracts';
import type { AccountsService } from './accounts.service';
import {
  EmailAlreadyVerifiedError,
  InvalidTokenError,
  InvalidVerificationTokenError,
  TooManyPasswordAttemptsError,
  TooManyVerificationEmailsError,
  VerificationOwnerRequiredError,
  WrongAccountPasswordError,
} from './auth.errors';
import { EmailVerificationService } from './email-verification.service';
import type { PasswordAttempts } from './login-throttler.guard';
import type { PasswordHasher } from './password-hasher';
import { hashToken } from './token.service';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const USER = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const OTHER = '6b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e';
const HOLDER = { userId: USER, email: 'ada@example.com', passwordHash: 'hash(right)' };

/** An EmailVerificationService over recording fakes of its repositories and AccountsService. */
function serviceWith(
  options: {
    issue?: EmailVerificationIssue;
    consumes?: string | null;
    holder?: typeof HOLDER | null;
    /** The password hash the account has when the confirm's transaction reads it. */
    currentHash?: string;
    blocked?: boolean;
  } = {},
) {
  const env = parseEnv({ EMAIL_VERIFICATION_TTL_HOURS: '48' }) as Env;
  const issued: { request: NewEmailVerification; manager: unknown }[] = [];
  const calls: string[] = [];
  const tokens = {
    issue: async (request: NewEmailVerification, manager?: unknown) => {
      issued.push({ request, manager });
      return options.issue ?? { outcome: 'issued' };
    },
    holderOfLive: async (hash: string) => {
      calls.push(`holder ${hash}`);
      return options.holder === undefined ? HOLDER : options.holder;
    },
    consume: async (hash: string) => {
      calls.push(`consume ${hash}`);
      return options.consumes === undefined ? USER : options.consumes;
    },
  } as unknown as EmailVerificationTokensRepository;
  const users = {
    findById: async (id: string) => ({ id, passwordHash: options.currentHash ?? HOLDER.passwordHash }),
  } as unknown as UsersRepository;
  const hasher = {
    verify: async (hash: string, password: string) => {
      calls.push(`verify ${password}`);
      return hash === `hash(${password})`;
    },
  } as unknown as PasswordHasher;
  const attempts = {
    count: async (clientIp: string, email: string) => {
      calls.push(`attempt ${clientIp} ${email}`);
      if (options.blocked) throw new TooManyPasswordAttemptsError(42);
    },
  } as unknown as PasswordAttempts;
  const signupManager = { signup: true };
  const accounts = {
    signup: async (
      _input: unknown,
      role: Role,
      andThen: (user: UserEntity, manager: unknown) => Promise<void>,
    ): Promise<UserEntity> => {
      calls.push(`signup ${role}`);
      const user = { id: USER } as UserEntity;
      await andThen(user, signupManager);
      return user;
    },
    rememberVerified: (id: string) => void calls.push(`remember ${id}`),
  } as unknown as AccountsService;
  const events = {
    record: async (id: string, type: AuthEventType) => void calls.push(`event ${id} ${type}`),
  } as unknown as AuthEventsRepository;
  const transactions = {
    run: (work: (manager: unknown) => Promise<unknown>) => work({}),
  } as unknown as TransactionRunner;
  const service = new EmailVerificationService(
    tokens,
    users,
    accounts,
    events,
    transactions,
    hasher,
    attempts,
    new FakeClock(NOW),
    env,
  );
  return { service, issued, calls, env, signupManager };
}

describe('EmailVerificationService.signup', () => {
  it("creates a buyer and, in signup's transaction, a 32-byte token sealed in its message", async () => {
    const { service, issued, calls, env, signupManager } = serviceWith();
    await service.signup({ email: 'ada@example.com', password: 'correct horse', name: 'Ada' });
    expect(calls).toEqual([`signup ${Role.User}`]);
    const [{ request, manager }] = issued;
    expect(manager).toBe(signupManager);
    expect(request.userId).toBe(USER);
    expect(request.now).toEqual(new Date(NOW));
    expect(request.expiresAt).toEqual(new Date(NOW + 48 * 3_600_000));
    expect(request).toMatchObject({ maxLiveTokens: 3, maxIssued: 3, windowMs: 15 * 60_000 });
    expect(request.message).toMatchObject({
      messageId: `email-verification:${request.verificationId}`,
      routingKey: ROUTING.emailVerification,
      payload: {
        type: 'email-verification',
        verificationId: request.verificationId,
        expiresAt: '2026-12-06T12:00:00.000Z',
      },
    });
    const token = openMailToken(
      emailVerificationMailKey(env.TICKET_SIGNING_SECRET!),
      request.verificationId,
      request.message.payload.sealedToken as string,
    );
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(request.tokenHash).toBe(hashToken(token));
    expect(JSON.stringify(request.message)).not.toContain(token);
  });
});

describe('EmailVerificationService.request', () => {
  it('issues a new token in a transaction of its own', async () => {
    const { service, issued } = serviceWith({ issue: { outcome: 'issued' } });
    await expect(service.request(USER)).resolves.toBeUndefined();
    expect(issued[0].manager).toBeUndefined();
    expect(issued[0].request.userId).toBe(USER);
  });

  it('answers 429 with the seconds until a resend is allowed when the limit held it back', async () => {
    const { service } = serviceWith({ issue: { outcome: 'limited', retryAfterSeconds: 612 } });
    const refused = await service.request(USER).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TooManyVerificationEmailsError);
    expect(refused).toMatchObject({
      kind: 'too_many',
      retryAfterSeconds: 612,
      details: { code: 'TooManyVerificationEmails' },
      message: 'at most 3 e-mails to confirm your address are sent per 15 minutes; ask again in 612 seconds',
    });
  });

  it('answers 409 for a confirmed address and 401 for an account that is gone', async () => {
    await expect(serviceWith({ issue: { outcome: 'verified' } }).service.request(USER)).rejects.toThrow(
      EmailAlreadyVerifiedError,
    );
    await expect(serviceWith({ issue: { outcome: 'no-account' } }).service.request(USER)).rejects.toThrow(
      InvalidTokenError,
    );
  });
});

describe('EmailVerificationService.confirm', () => {
  const IP = '203.0.113.9';
  const HASH = hashToken('the-token');

  it("uses the token up by its hash with the account's own access token, records EMAIL_VERIFIED, and lets the account in on this process", async () => {
    const { service, calls } = serviceWith();
    await service.confirm('the-token', { callerId: USER, clientIp: IP });
    expect(calls).toEqual([
      `holder ${HASH}`,
      `consume ${HASH}`,
      `event ${USER} ${AuthEventType.EmailVerified}`,
      `remember ${USER}`,
    ]);
  });

  it("takes the account's password instead, counted as a password attempt of that account from the caller's address", async () => {
    const { service, calls } = serviceWith();
    await service.confirm('the-token', { password: 'right', clientIp: IP });
    expect(calls).toEqual([
      `holder ${HASH}`,
      `attempt ${IP} ${HOLDER.email}`,
      'verify right',
      `consume ${HASH}`,
      `event ${USER} ${AuthEventType.EmailVerified}`,
      `remember ${USER}`,
    ]);
  });

  it('refuses a confirm with neither an access token nor a password (401) before reading anything', async () => {
    const { service, calls } = serviceWith();
    const refused = await service.confirm('the-token', { clientIp: IP }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(VerificationOwnerRequiredError);
    expect(refused).toMatchObject({ kind: 'unauthorized', details: { code: 'VerificationOwnerRequired' } });
    expect(calls).toEqual([]);
  });

  it("refuses another account's access token as an invalid token (400), changing nothing", async () => {
    const { service, calls } = serviceWith();
    await expect(service.confirm('the-token', { callerId: OTHER, clientIp: IP })).rejects.toThrow(
      InvalidVerificationTokenError,
    );
    expect(calls).toEqual([`holder ${HASH}`]);
  });

  it('refuses a wrong password (401) and a blocked caller (429) without using the token', async () => {
    const wrong = serviceWith();
    await expect(wrong.service.confirm('the-token', { password: 'wrong', clientIp: IP })).rejects.toThrow(
      WrongAccountPasswordError,
    );
    expect(wrong.calls).toEqual([`holder ${HASH}`, `attempt ${IP} ${HOLDER.email}`, 'verify wrong']);
    const blocked = serviceWith({ blocked: true });
    const refused = await blocked.service
      .confirm('the-token', { password: 'right', clientIp: IP })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ kind: 'too_many', retryAfterSeconds: 42 });
    expect(blocked.calls).toEqual([`holder ${HASH}`, `attempt ${IP} ${HOLDER.email}`]);
  });

  it('refuses a password that a reset replaced while the confirm ran, recording nothing', async () => {
    const { service, calls } = serviceWith({ currentHash: 'hash(reset)' });
    await expect(service.confirm('the-token', { password: 'right', clientIp: IP })).rejects.toThrow(
      WrongAccountPasswordError,
    );
    expect(calls).not.toContain(`event ${USER} ${AuthEventType.EmailVerified}`);
    expect(calls).not.toContain(`remember ${USER}`);
  });

  it('refuses a token unknown, used, replaced or expired with one 400, changing nothing, with no password attempt', async () => {
    const unknown = serviceWith({ holder: null });
    await expect(unknown.service.confirm('the-token', { password: 'right', clientIp: IP })).rejects.toThrow(
      InvalidVerificationTokenError,
    );
    expect(unknown.calls).toEqual([`holder ${HASH}`]);
    // Used by a concurrent confirm between the read and the transaction.
    const raced = serviceWith({ consumes: null });
    await expect(raced.service.confirm('the-token', { callerId: USER, clientIp: IP })).rejects.toThrow(
      InvalidVerificationTokenError,
    );
    expect(raced.calls).toEqual([`holder ${HASH}`, `consume ${HASH}`]);
  });
});
