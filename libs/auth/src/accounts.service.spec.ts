import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuthEventsRepository, TransactionRunner, UserEntity, UsersRepository } from '@app/database';
import { ACCOUNT_GONE, AccountsService } from './accounts.service';
import { InvalidTokenError } from './auth.errors';
import type { PasswordHasher } from './password-hasher';

/** An AccountsService over a users table of one map (the repository is our own port). */
function accountsOver(users: Map<string, UserEntity>) {
  const reads: string[] = [];
  const repository = {
    findById: async (id: string) => {
      reads.push(id);
      return users.get(id) ?? null;
    },
  } as unknown as UsersRepository;
  const service = new AccountsService(
    repository,
    {} as AuthEventsRepository,
    {} as TransactionRunner,
    {} as PasswordHasher,
  );
  return { service, reads };
}

describe('AccountsService.ensureExists', () => {
  afterEach(() => vi.useRealTimers());

  it('reads an account once, then trusts it without a promise for a minute', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-01T20:00:00Z') });
    const users = new Map([['u1', { id: 'u1' } as UserEntity]]);
    const { service, reads } = accountsOver(users);
    await expect(service.ensureExists('u1')).resolves.toBe(true);
    expect(service.ensureExists('u1')).toBe(true);
    vi.advanceTimersByTime(59_000);
    expect(service.ensureExists('u1')).toBe(true);
    expect(reads).toEqual(['u1']);
  });

  it('refuses an account deleted by hand once its minute of trust is over', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-01T20:00:00Z') });
    const users = new Map([['u1', { id: 'u1' } as UserEntity]]);
    const { service, reads } = accountsOver(users);
    await service.ensureExists('u1');
    users.delete('u1');
    vi.advanceTimersByTime(60_001);
    const answer = service.ensureExists('u1');
    await expect(answer).rejects.toThrow(InvalidTokenError);
    await expect(answer).rejects.toThrow(ACCOUNT_GONE);
    // Not remembered as known: every later call reads again and is refused.
    await expect(service.ensureExists('u1')).rejects.toThrow(ACCOUNT_GONE);
    expect(reads).toEqual(['u1', 'u1', 'u1']);
  });

  it('refuses an account that never existed, every time', async () => {
    const { service, reads } = accountsOver(new Map());
    await expect(service.ensureExists('nobody')).rejects.toThrow(ACCOUNT_GONE);
    await expect(service.ensureExists('nobody')).rejects.toThrow(ACCOUNT_GONE);
    expect(reads).toEqual(['nobody', 'nobody']);
  });
});
