import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '@app/core';
import { FakeClock } from '@app/testing';
import {
  AuthEventType,
  Role,
  type AdminAuditRepository,
  type AuthEventsRepository,
  type NewAdminAudit,
  type RefreshTokensRepository,
  type TransactionRunner,
  type UserEntity,
  type UsersRepository,
} from '@app/database';
import type { AccountsService } from './accounts.service';
import type { SessionRevocations } from './session-revocations';
import { StaffAccountsService } from './staff-accounts.service';

const ID = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
/** The transaction's manager, as the fake TransactionRunner hands it to the work. */
const TX = { transaction: true };
const OPERATOR = { id: '0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b', email: 'admin@example.com' };

/** A StaffAccountsService over fakes: the account's role before (null: none), and what was done. */
function serviceWith(before: Role | null) {
  const calls: string[] = [];
  let role = before;
  const users = {
    promoteToStaff: async () => {
      const was = role;
      if (role === Role.User) role = Role.Staff;
      return was;
    },
    demoteStaff: async () => {
      if (role !== Role.Staff) return false;
      role = Role.User;
      return true;
    },
    findById: async (id: string, manager?: unknown) => {
      calls.push(`read ${id} ${manager === TX ? 'in the transaction' : 'outside it'}`);
      return role ? ({ id, role } as UserEntity) : null;
    },
  } as unknown as UsersRepository;
  const events = {
    record: async (id: string, type: AuthEventType) => void calls.push(`event ${id} ${type}`),
  } as unknown as AuthEventsRepository;
  const refreshTokens = {
    revokeUser: async (id: string) => void calls.push(`revoke ${id}`),
  } as unknown as RefreshTokensRepository;
  const sessions = {
    endAll: async (id: string, manager: unknown) =>
      void calls.push(`end sessions ${id} ${manager === TX ? 'in the transaction' : 'outside it'}`),
  } as unknown as SessionRevocations;
  const transactions = {
    run: (work: (manager: unknown) => Promise<unknown>) => work(TX),
  } as unknown as TransactionRunner;
  const accounts = {
    signup: async (
      _input: unknown,
      signupRole: Role,
      andThen: (user: UserEntity, manager: unknown) => Promise<void>,
    ) => {
      calls.push(`signup ${signupRole}`);
      const user = { id: ID, role: signupRole } as UserEntity;
      await andThen(user, TX);
      return user;
    },
  } as unknown as AccountsService;
  const audit = {
    recordIn: async (entry: NewAdminAudit, manager: unknown) =>
      void calls.push(
        `audit ${entry.action} ${entry.subjectId} by ${entry.actorEmail} ${manager === TX ? 'in the transaction' : 'outside it'}`,
      ),
  } as unknown as AdminAuditRepository;
  const service = new StaffAccountsService(
    users,
    events,
    refreshTokens,
    sessions,
    transactions,
    new FakeClock(0),
    accounts,
    audit,
  );
  return { service, calls };
}

describe('StaffAccountsService.grant', () => {
  it("makes a buyer's account staff, ends its sessions and records it", async () => {
    const { service, calls } = serviceWith(Role.User);
    await expect(service.grant(ID, OPERATOR)).resolves.toMatchObject({ id: ID, role: Role.Staff });
    // The answer is read inside the grant's transaction (its row locked), not after the commit.
    expect(calls).toEqual([
      `revoke ${ID}`,
      `end sessions ${ID} in the transaction`,
      `event ${ID} ${AuthEventType.StaffGranted}`,
      `audit staff.grant account:${ID} by admin@example.com in the transaction`,
      `read ${ID} in the transaction`,
    ]);
  });

  it('leaves a staff account as it is', async () => {
    const { service, calls } = serviceWith(Role.Staff);
    await expect(service.grant(ID, OPERATOR)).resolves.toMatchObject({ role: Role.Staff });
    expect(calls).toEqual([`read ${ID} in the transaction`]);
  });

  it("refuses an admin's account and an unknown id, changing nothing", async () => {
    const admin = serviceWith(Role.Admin);
    await expect(admin.service.grant(ID, OPERATOR)).rejects.toThrow(ConflictError);
    const none = serviceWith(null);
    await expect(none.service.grant(ID, OPERATOR)).rejects.toThrow(NotFoundError);
    expect([...admin.calls, ...none.calls]).toEqual([]);
  });
});

describe('StaffAccountsService.create and revoke', () => {
  it('creates a staff account and records it in the audit log in the sign-up transaction', async () => {
    const { service, calls } = serviceWith(null);
    await service.create({ email: 'door@example.com', name: 'Door', password: 'x' }, OPERATOR);
    expect(calls).toEqual([
      `signup ${Role.Staff}`,
      `audit staff.create account:${ID} by admin@example.com in the transaction`,
    ]);
  });

  it('revokes a staff role, recording it with its auth event; records nothing for a buyer', async () => {
    const staff = serviceWith(Role.Staff);
    await staff.service.revoke(ID, OPERATOR);
    expect(staff.calls).toEqual([
      `revoke ${ID}`,
      `end sessions ${ID} in the transaction`,
      `event ${ID} ${AuthEventType.StaffRevoked}`,
      `audit staff.revoke account:${ID} by admin@example.com in the transaction`,
    ]);
    const buyer = serviceWith(Role.User);
    await expect(buyer.service.revoke(ID, OPERATOR)).rejects.toThrow(NotFoundError);
    expect(buyer.calls).toEqual([]);
  });
});
