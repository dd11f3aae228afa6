import { describe, expect, it, vi } from 'vitest';
import { Env, parseEnv } from '@app/config';
import { emailKey } from '@app/core';
import { FakeClock } from '@app/testing';
import {
  type AccountNoticesRepository,
  AuthEventType,
  type AuthEventsRepository,
  type EmailChangeTokensRepository,
  type EmailVerificationTokensRepository,
  type NewAccountNotice,
  type NewPasswordReset,
  type PasswordResetTokensRepository,
  type RefreshTokensRepository,
  type TransactionRunner,
  type UsersRepository,
} from '@app/database';
import { openMailToken, passwordResetMailKey, ROUTING } from '@app/messaging/contracts';
import type { AccountsService } from './accounts.service';
import { InvalidResetTokenError } from './auth.errors';
import type { PasswordHasher } from './password-hasher';
import { PasswordResetService } from './password-reset.service';
import type { SessionRevocations } from './session-revocations';
import { hashToken } from './token.service';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const USER = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** A PasswordResetService over recording fakes of its repositories (our own ports). */
function serviceWith(options: { live?: boolean; consumes?: string | null; unverified?: boolean } = {}) {
  const env = parseEnv({ PASSWORD_RESET_TTL_MINUTES: '20' }) as Env;
  const issued: NewPasswordReset[] = [];
  const calls: string[] = [];
  const resets = {
    issue: async (reset: NewPasswordReset) => {
      issued.push(reset);
      return true;
    },
    isLive: async () => options.live ?? true,
    consume: async () => (options.consumes === undefined ? USER : options.consumes),
  } as unknown as PasswordResetTokensRepository;
  const verifications = {
    verifyByReset: async (id: string) => {
      calls.push(`verify ${id}`);
      return options.unverified ?? true;
    },
  } as unknown as EmailVerificationTokensRepository;
  const accounts = {
    rememberVerified: (id: string) => void calls.push(`remember ${id}`),
  } as unknown as AccountsService;
  const users = {
    findById: async (id: string) => ({ id, email: 'ada@example.com', name: 'Ada' }),
    setPasswordHash: async (id: string, hash: string) => void calls.push(`password ${id} ${hash}`),
  } as unknown as UsersRepository;
  const refreshTokens = {
    revokeUser: async (id: string) => void calls.push(`revoke ${id}`),
  } as unknown as RefreshTokensRepository;
  const sessions = {
    endAll: async (id: string) => void calls.push(`end sessions ${id}`),
  } as unknown as SessionRevocations;
  const events = {
    record: async (id: string, type: AuthEventType) => void calls.push(`event ${id} ${type}`),
  } as unknown as AuthEventsRepository;
  const notices = {
    record: async (notice: NewAccountNotice) =>
      void calls.push(`notice ${notice.userId} ${notice.kind} to ${notice.email} via ${notice.routingKey}`),
  } as unknown as AccountNoticesRepository;
  const emailChanges = {
    voidAll: async (id: string) => void calls.push(`void e-mail changes ${id}`),
  } as unknown as EmailChangeTokensRepository;
  const transactions = {
    run: (work: (manager: unknown) => Promise<unknown>) => work({}),
  } as unknown as TransactionRunner;
  const hasher = { hash: vi.fn(async (password: string) => `hash(${password})`) };
  const service = new PasswordResetService(
    resets,
    verifications,
    accounts,
    users,
    refreshTokens,
    sessions,
    events,
    notices,
    emailChanges,
    transactions,
    hasher as unknown as PasswordHasher,
    new FakeClock(NOW),
    env,
  );
  return { service, issued, calls, hasher, env };
}

describe('PasswordResetService.request', () => {
  it('stores the hash of a fresh 32-byte token and seals the token in its message', async () => {
    const { service, issued, env } = serviceWith();
    await service.request('  Ada@Example.COM ');
    const [reset] = issued;
    expect(reset.emailKey).toBe(emailKey('ada@example.com'));
    // Recorded by its key's hash: no address in clear.
    expect(reset.emailHash).toBe(hashToken(emailKey('ada@example.com')));
    expect(reset.now).toEqual(new Date(NOW));
    expect(reset.expiresAt).toEqual(new Date(NOW + 20 * 60_000));
    expect(reset).toMatchObject({ maxLiveTokens: 3, maxIssued: 3, windowMs: 15 * 60_000 });
    expect(reset.message).toMatchObject({
      messageId: `password-reset:${reset.resetId}`,
      routingKey: ROUTING.passwordReset,
      payload: { type: 'password-reset', resetId: reset.resetId, expiresAt: '2026-12-04T12:20:00.000Z' },
    });
    const token = openMailToken(
      passwordResetMailKey(env.TICKET_SIGNING_SECRET!),
      reset.resetId,
      reset.message.payload.sealedToken as string,
    );
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(reset.tokenHash).toBe(hashToken(token));
    expect(JSON.stringify(reset.message)).not.toContain(token);
  });

  it('makes a new token, and a new request, every time', async () => {
    const { service, issued } = serviceWith();
    await service.request('ada@example.com');
    await service.request('ada@example.com');
    expect(issued[0].resetId).not.toBe(issued[1].resetId);
    expect(issued[0].tokenHash).not.toBe(issued[1].tokenHash);
  });
});

describe('PasswordResetService.confirm', () => {
  it('sets the password, ends every session, voids pending e-mail changes, records the reset with its notice and confirms an unconfirmed address', async () => {
    const { service, calls } = serviceWith();
    await service.confirm('token', 'new password');
    expect(calls).toEqual([
      `password ${USER} hash(new password)`,
      `revoke ${USER}`,
      `end sessions ${USER}`,
      `void e-mail changes ${USER}`,
      `notice ${USER} password-reset to ada@example.com via account.notice`,
      `verify ${USER}`,
      `event ${USER} ${AuthEventType.EmailVerified}`,
      `remember ${USER}`,
    ]);
  });

  it('records no EMAIL_VERIFIED for an address confirmed before', async () => {
    const { service, calls } = serviceWith({ unverified: false });
    await service.confirm('token', 'new password');
    expect(calls).not.toContain(`event ${USER} ${AuthEventType.EmailVerified}`);
    expect(calls.slice(-2)).toEqual([`verify ${USER}`, `remember ${USER}`]);
  });

  it('refuses a token that is not live without hashing the password', async () => {
    const { service, calls, hasher } = serviceWith({ live: false });
    await expect(service.confirm('token', 'new password')).rejects.toThrow(InvalidResetTokenError);
    expect(hasher.hash).not.toHaveBeenCalled();
    expect(calls).toEqual([]);
  });

  it('refuses a token another confirm used first, changing nothing', async () => {
    const { service, calls } = serviceWith({ consumes: null });
    await expect(service.confirm('token', 'new password')).rejects.toThrow(InvalidResetTokenError);
    expect(calls).toEqual([]);
  });
});
