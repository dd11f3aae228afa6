import { describe, expect, it } from 'vitest';
import type { Env } from '@app/config';
import { NotFoundError } from '@app/core';
import { FakeClock } from '@app/testing';
import {
  Role,
  type AccountDeletionsRepository,
  type AccountNoticesRepository,
  type AccountObligations,
  type AccountToDelete,
  type AdminAuditRepository,
  type NewAdminAudit,
  type NewAccountNotice,
  type RefreshTokensRepository,
  type TransactionRunner,
  type UserEntity,
  type UsersRepository,
} from '@app/database';
import { AccountDeletionService, AccountLiveState } from './account-deletion.service';
import type { AccountsService } from './accounts.service';
import { AccountHasOpenPurchasesError, AdminAccountKeptError, WrongAccountPasswordError } from './auth.errors';
import type { PasswordAttempts } from './login-throttler.guard';
import type { PasswordHasher } from './password-hasher';
import type { SessionRevocations } from './session-revocations';

const ID = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const TX = { transaction: true };
const OPERATOR = { id: '0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', email: 'admin@example.com' };
const NOTHING: AccountObligations = { purchaseIds: [], ticketIds: [], paymentsInProgress: [] };

/**
 * An AccountDeletionService over fakes: the account (`role`, `email`), the admins besides it, what
 * PostgreSQL and Redis say it has (per read: the first before the transaction, the second inside),
 * and the calls made, in order.
 */
function serviceWith(
  options: {
    role?: Role;
    email?: string;
    otherAdmins?: number;
    owed?: AccountObligations[];
    unflushed?: string[][];
    adminEmail?: string;
  } = {},
) {
  const calls: string[] = [];
  const account: AccountToDelete = {
    id: ID,
    email: options.email ?? 'ada@example.com',
    emailKey: options.email ?? 'ada@example.com',
    role: options.role ?? Role.User,
    passwordHash: 'hash',
    deletedAt: null,
  };
  const owed = [...(options.owed ?? [])];
  const unflushed = [...(options.unflushed ?? [])];
  const deletions = {
    lock: async () => (calls.push('lock'), account),
    otherAdmins: async () => options.otherAdmins ?? 0,
    obligations: async (_id: string, manager?: unknown) => {
      calls.push(`read obligations ${manager === TX ? 'in the transaction' : 'before it'}`);
      return owed.shift() ?? NOTHING;
    },
    anonymise: async () => void calls.push('anonymise'),
  } as unknown as AccountDeletionsRepository;
  const users = {
    findById: async () => ({ id: ID, email: account.email, passwordHash: 'hash', deletedAt: null }) as UserEntity,
  } as unknown as UsersRepository;
  const refreshTokens = { revokeUser: async () => void calls.push('revoke') } as unknown as RefreshTokensRepository;
  const notices = {
    record: async (notice: NewAccountNotice) => void calls.push(`notice ${notice.kind} to ${notice.email}`),
  } as unknown as AccountNoticesRepository;
  const transactions = {
    run: async (work: (manager: unknown) => Promise<unknown>) => {
      calls.push('begin');
      const result = await work(TX);
      calls.push('commit');
      return result;
    },
  } as unknown as TransactionRunner;
  const revocations = { endAll: async () => void calls.push('end sessions') } as unknown as SessionRevocations;
  const accounts = { forget: () => void calls.push('forget') } as unknown as AccountsService;
  const attempts = { count: async () => undefined } as unknown as PasswordAttempts;
  const hasher = {
    verify: async (_hash: string, password: string) => password === 'right',
    hash: async () => 'unusable',
  } as unknown as PasswordHasher;
  const live: AccountLiveState = {
    unflushedPurchases: async () => unflushed.shift() ?? [],
    releaseHolds: async () => (calls.push('release holds'), 0),
  };
  const audit = {
    recordIn: async (entry: NewAdminAudit, manager: unknown) =>
      void calls.push(
        `audit ${entry.action} by ${entry.actorEmail} ${JSON.stringify(entry.details)} ${manager === TX ? 'in the transaction' : 'outside it'}`,
      ),
  } as unknown as AdminAuditRepository;
  const env = { ADMIN_EMAIL: options.adminEmail } as Env;
  const service = new AccountDeletionService(
    users,
    deletions,
    refreshTokens,
    notices,
    transactions,
    revocations,
    accounts,
    attempts,
    hasher,
    live,
    new FakeClock(0),
    audit,
    env,
  );
  return { service, calls };
}

describe('AccountDeletionService', () => {
  it('anonymises, ends the sessions and releases the holds before reading again what the account has, then records and tells', async () => {
    const { service, calls } = serviceWith();
    await service.deleteOwn(ID, 'right', '10.0.0.1');
    expect(calls).toEqual([
      'read obligations before it',
      'begin',
      'lock',
      'anonymise',
      'revoke',
      'end sessions',
      'release holds',
      'read obligations in the transaction',
      'notice account-deleted to ada@example.com',
      'commit',
      'forget',
      'release holds',
    ]);
  });

  it("records an admin's deletion in the audit log, in the deletion's transaction, without the address", async () => {
    const { service, calls } = serviceWith({ role: Role.Staff });
    await service.deleteByAdmin(ID, OPERATOR);
    expect(calls.slice(calls.indexOf('read obligations in the transaction') + 1, calls.indexOf('commit'))).toEqual([
      'notice account-deleted to ada@example.com',
      `audit account.delete by admin@example.com {"accountId":"${ID}","role":"STAFF"} in the transaction`,
    ]);
  });

  it('refuses a wrong password before anything is read or changed', async () => {
    const { service, calls } = serviceWith();
    await expect(service.deleteOwn(ID, 'wrong', '10.0.0.1')).rejects.toThrow(WrongAccountPasswordError);
    expect(calls).toEqual([]);
  });

  it('refuses (409) while purchases are open, before the transaction, listing PostgreSQL and Redis alike once', async () => {
    const { service, calls } = serviceWith({
      owed: [{ purchaseIds: ['p1'], ticketIds: ['7'], paymentsInProgress: ['p1', 'p3'] }],
      unflushed: [['p2', 'p1']],
    });
    const refusal = await service.deleteByAdmin(ID, OPERATOR).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(AccountHasOpenPurchasesError);
    expect((refusal as AccountHasOpenPurchasesError).details).toEqual({
      code: 'AccountHasOpenPurchases',
      purchaseIds: ['p1', 'p2'],
      ticketIds: ['7'],
      paymentsInProgress: ['p3'],
    });
    expect(calls).toEqual(['read obligations before it']);
  });

  it('refuses (409) a purchase sold during the deletion, read after the holds were released, committing nothing', async () => {
    const { service, calls } = serviceWith({ unflushed: [[], ['p9']] });
    await expect(service.deleteByAdmin(ID, OPERATOR)).rejects.toThrow(AccountHasOpenPurchasesError);
    expect(calls).not.toContain('commit');
    expect(calls.slice(-2)).toEqual(['release holds', 'read obligations in the transaction']);
  });

  it('keeps the admin of ADMIN_EMAIL and the last admin (409), lets an admin go while another is left', async () => {
    const boot = serviceWith({
      role: Role.Admin,
      email: 'boot@example.com',
      otherAdmins: 3,
      adminEmail: 'Boot@Example.com',
    });
    await expect(boot.service.deleteByAdmin(ID, OPERATOR)).rejects.toThrow(new AdminAccountKeptError('BootstrapAdmin'));
    // A buyer who took the address a moved bootstrap admin left is no admin of ADMIN_EMAIL.
    const taken = serviceWith({ role: Role.User, email: 'boot@example.com', adminEmail: 'Boot@Example.com' });
    await taken.service.deleteByAdmin(ID, OPERATOR);
    expect(taken.calls).toContain('commit');
    const last = serviceWith({ role: Role.Admin, otherAdmins: 0 });
    await expect(last.service.deleteByAdmin(ID, OPERATOR)).rejects.toThrow(new AdminAccountKeptError('LastAdmin'));
    for (const calls of [boot.calls, last.calls]) expect(calls).not.toContain('anonymise');
    const another = serviceWith({ role: Role.Admin, otherAdmins: 1 });
    await another.service.deleteByAdmin(ID, OPERATOR);
    expect(another.calls).toContain('commit');
  });

  it('answers 404 to the admin for an account gone or deleted already', async () => {
    const { service } = serviceWith();
    const deletions = (service as unknown as { deletions: { lock: () => Promise<null> } }).deletions;
    deletions.lock = async () => null;
    await expect(service.deleteByAdmin(ID, OPERATOR)).rejects.toThrow(NotFoundError);
  });
});
