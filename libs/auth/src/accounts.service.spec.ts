import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import type { Clock } from '@app/core';
import { FakeClock } from '@app/testing';
import { Role } from '@app/database';
import type { AuthEventsRepository, TransactionRunner, UserEntity, UsersRepository } from '@app/database';
import { ACCOUNT_GONE, AccountsService, KNOWN_ACCOUNT_MS, UNVERIFIED_ACCOUNT_MS } from './accounts.service';
import { EmailNotVerifiedError, InvalidTokenError } from './auth.errors';
import type { PasswordHasher } from './password-hasher';

const U1 = '5f0c2a0e-8d7b-4c1e-9a51-0b6d2f3e4a11';

const START = Date.parse('2026-12-01T20:00:00Z');

/**
 * An AccountsService over a users table of one map (the repository is our own port); `queries`
 * lists the ids of each lookup query, `failNext` makes the next query fail with that error.
 * `verificationRequired`: EMAIL_VERIFICATION_REQUIRED.
 */
function accountsOver(
  users: Map<string, UserEntity>,
  clock: Clock = new FakeClock(START),
  verificationRequired = false,
) {
  const queries: string[][] = [];
  const control: { failNext?: Error } = {};
  const repository = {
    existingAccounts: async (ids: readonly string[]) => {
      queries.push([...ids]);
      const failure = control.failNext;
      control.failNext = undefined;
      if (failure) throw failure;
      return new Map(
        ids
          .filter((id) => users.has(id))
          .map((id) => {
            const user = users.get(id)!;
            return [id, { emailVerified: (user.emailVerifiedAt ?? null) !== null, role: user.role ?? Role.User }];
          }),
      );
    },
  } as unknown as UsersRepository;
  const service = new AccountsService(
    repository,
    {} as AuthEventsRepository,
    {} as TransactionRunner,
    {} as PasswordHasher,
    clock,
    parseEnv({ EMAIL_VERIFICATION_REQUIRED: String(verificationRequired) }),
  );
  return { service, queries, control };
}

/** Accounts with these ids, their e-mail confirmed unless `emailVerified` is false. */
function usersWith(ids: string[], emailVerified = true): Map<string, UserEntity> {
  const verifiedAt = emailVerified ? new Date(START) : null;
  return new Map(ids.map((id) => [id, { id, emailVerifiedAt: verifiedAt } as UserEntity]));
}

describe('AccountsService.ensureExists', () => {
  it('reads an account once, then trusts it without a promise for a minute', async () => {
    const clock = new FakeClock(START);
    const { service, queries } = accountsOver(usersWith([U1]), clock);
    await expect(service.ensureExists(U1)).resolves.toBe(true);
    expect(service.ensureExists(U1)).toBe(true);
    clock.advance(59_000);
    expect(service.ensureExists(U1)).toBe(true);
    expect(queries).toEqual([[U1]]);
  });

  it('refuses an account deleted by hand once its minute of trust is over', async () => {
    const clock = new FakeClock(START);
    const users = usersWith([U1]);
    const { service, queries } = accountsOver(users, clock);
    await service.ensureExists(U1);
    users.delete(U1);
    clock.advance(60_001);
    const answer = service.ensureExists(U1);
    await expect(answer).rejects.toThrow(InvalidTokenError);
    await expect(answer).rejects.toThrow(ACCOUNT_GONE);
    // Not remembered as known: every later call reads again and is refused.
    await expect(service.ensureExists(U1)).rejects.toThrow(ACCOUNT_GONE);
    expect(queries).toEqual([[U1], [U1], [U1]]);
  });

  it('refuses an account that never existed, every time', async () => {
    const { service, queries } = accountsOver(new Map());
    await expect(service.ensureExists(U1)).rejects.toThrow(ACCOUNT_GONE);
    await expect(service.ensureExists(U1)).rejects.toThrow(ACCOUNT_GONE);
    expect(queries).toEqual([[U1], [U1]]);
  });

  it('refuses an id that is not a UUID without asking PostgreSQL', async () => {
    const { service, queries } = accountsOver(new Map());
    await expect(service.ensureExists('not-a-uuid')).rejects.toThrow(ACCOUNT_GONE);
    expect(queries).toEqual([]);
  });

  it('looks up the ids asked about in one turn in one query, each id once, settling each caller', async () => {
    const present = Array.from({ length: 300 }, () => randomUUID());
    const missing = Array.from({ length: 20 }, () => randomUUID());
    const { service, queries } = accountsOver(usersWith(present));
    const asked = [...present, ...missing, ...present.slice(0, 50)];
    const answers = await Promise.allSettled(asked.map((id) => service.ensureExists(id)));
    expect(queries).toHaveLength(1);
    expect(queries[0]).toEqual([...present, ...missing]);
    const refused = asked.filter((_, i) => answers[i].status === 'rejected');
    expect(refused).toEqual(missing);
    for (const id of present) expect(service.ensureExists(id), id).toBe(true);
  });

  it('splits a turn of more than 1,000 unknown ids into queries of at most 1,000', async () => {
    const ids = Array.from({ length: 2_500 }, () => randomUUID());
    const { service, queries } = accountsOver(usersWith(ids));
    await Promise.all(ids.map((id) => service.ensureExists(id)));
    expect(queries.map((query) => query.length)).toEqual([1000, 1000, 500]);
    expect(queries.flat()).toEqual(ids);
  });

  it('passes a failed query to every caller waiting on it, and asks again on the next call', async () => {
    const { service, queries, control } = accountsOver(usersWith([U1]));
    const poolTimeout = new Error('timeout exceeded when trying to connect');
    control.failNext = poolTimeout;
    const answers = await Promise.allSettled([service.ensureExists(U1), service.ensureExists(U1)]);
    expect(answers).toEqual([
      { status: 'rejected', reason: poolTimeout },
      { status: 'rejected', reason: poolTimeout },
    ]);
    await expect(service.ensureExists(U1)).resolves.toBe(true);
    expect(queries).toEqual([[U1], [U1]]);
  });
});

describe('AccountsService.ensureVerified', () => {
  it('lets a confirmed account in from the same lookup and memory as ensureExists, for a minute', async () => {
    const clock = new FakeClock(START);
    const { service, queries } = accountsOver(usersWith([U1]), clock, true);
    await expect(service.ensureVerified(U1)).resolves.toBe(true);
    expect(service.ensureExists(U1)).toBe(true);
    clock.advance(KNOWN_ACCOUNT_MS - 1000);
    expect(service.ensureVerified(U1)).toBe(true);
    expect(queries).toEqual([[U1]]);
  });

  it('refuses an unconfirmed account (403 EmailNotVerified), without a promise while remembered', async () => {
    const { service, queries } = accountsOver(usersWith([U1], false), new FakeClock(START), true);
    await expect(service.ensureVerified(U1)).rejects.toThrow(EmailNotVerifiedError);
    expect(() => service.ensureVerified(U1)).toThrow(EmailNotVerifiedError);
    // It exists all the same.
    expect(service.ensureExists(U1)).toBe(true);
    expect(queries).toEqual([[U1]]);
  });

  it('reads an unconfirmed account again after UNVERIFIED_ACCOUNT_MS: a confirm on another process counts', async () => {
    const clock = new FakeClock(START);
    const users = usersWith([U1], false);
    const { service, queries } = accountsOver(users, clock, true);
    await expect(service.ensureVerified(U1)).rejects.toThrow(EmailNotVerifiedError);
    users.get(U1)!.emailVerifiedAt = new Date(START);
    clock.advance(UNVERIFIED_ACCOUNT_MS - 1);
    expect(() => service.ensureVerified(U1)).toThrow(EmailNotVerifiedError);
    clock.advance(2);
    await expect(service.ensureVerified(U1)).resolves.toBe(true);
    expect(service.ensureVerified(U1)).toBe(true);
    expect(queries).toEqual([[U1], [U1]]);
  });

  it('lets an account in at once once this process took its confirm (rememberVerified)', async () => {
    const { service, queries } = accountsOver(usersWith([U1], false), new FakeClock(START), true);
    await expect(service.ensureVerified(U1)).rejects.toThrow(EmailNotVerifiedError);
    service.rememberVerified(U1);
    expect(service.ensureVerified(U1)).toBe(true);
    expect(queries).toEqual([[U1]]);
  });

  it("keeps a confirm taken while a lookup was on its way over the lookup's older answer", async () => {
    const { service, queries } = accountsOver(usersWith([U1], false), new FakeClock(START), true);
    const answer = service.ensureVerified(U1);
    service.rememberVerified(U1);
    await expect(answer).resolves.toBe(true);
    expect(service.ensureVerified(U1)).toBe(true);
    expect(queries).toEqual([[U1]]);
  });

  it('trusts an unconfirmed account for the full minute when verification is not required', async () => {
    const clock = new FakeClock(START);
    const { service, queries } = accountsOver(usersWith([U1], false), clock, false);
    await expect(service.ensureExists(U1)).resolves.toBe(true);
    clock.advance(KNOWN_ACCOUNT_MS - 1000);
    expect(service.ensureExists(U1)).toBe(true);
    expect(queries).toEqual([[U1]]);
  });

  it('lets an unconfirmed staff or admin account in by its stored role, and reads the role again soon', async () => {
    const clock = new FakeClock(START);
    const users = usersWith([U1], false);
    users.get(U1)!.role = Role.Staff;
    const { service, queries } = accountsOver(users, clock, true);
    await expect(service.ensureVerified(U1)).resolves.toBe(true);
    expect(service.ensureVerified(U1)).toBe(true);
    // An admin revokes the staff role: refused once the entry is read again.
    users.get(U1)!.role = Role.User;
    clock.advance(UNVERIFIED_ACCOUNT_MS + 1);
    await expect(service.ensureVerified(U1)).rejects.toThrow(EmailNotVerifiedError);
    expect(queries).toEqual([[U1], [U1]]);
  });

  it('refuses a missing account with 401, as ensureExists does', async () => {
    const { service } = accountsOver(new Map(), new FakeClock(START), true);
    await expect(service.ensureVerified(U1)).rejects.toThrow(ACCOUNT_GONE);
  });
});
