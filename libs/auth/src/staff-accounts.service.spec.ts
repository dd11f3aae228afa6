import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '@app/core';
import { FakeClock } from '@app/testing';
import {
  AuthEventType,
  Role,
  type AuthEventsRepository,
  type RefreshTokensRepository,
  type TransactionRunner,
  type UserEntity,
  type UsersRepository,
} from '@app/database';
import type { SessionRevocations } from './session-revocations';
import { StaffAccountsService } from './staff-accounts.service';

const ID = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
/** The transaction's manager, as the fake TransactionRunner hands it to the work. */
const TX = { transaction: true };

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
  const service = new StaffAccountsService(users, events, refreshTokens, sessions, transactions, new FakeClock(0));
  return { service, calls };
}

describe('StaffAccountsService.grant', () => {
  it("makes a buyer's account staff, ends its sessions and records it", async () => {
    const { service, calls } = serviceWith(Role.User);
    await expect(service.grant(ID)).resolves.toMatchObject({ id: ID, role: Role.Staff });
    // The answer is read inside the grant's transaction (its row locked), not after the commit.
    expect(calls).toEqual([
      `revoke ${ID}`,
      `end sessions ${ID} in the transaction`,
      `event ${ID} ${AuthEventType.StaffGranted}`,
      `read ${ID} in the transaction`,
    ]);
  });

  it('leaves a staff account as it is', async () => {
    const { service, calls } = serviceWith(Role.Staff);
    await expect(service.grant(ID)).resolves.toMatchObject({ role: Role.Staff });
    expect(calls).toEqual([`read ${ID} in the transaction`]);
  });

  it("refuses an admin's account and an unknown id, changing nothing", async () => {
    const admin = serviceWith(Role.Admin);
    await expect(admin.service.grant(ID)).rejects.toThrow(ConflictError);
    const none = serviceWith(null);
    await expect(none.service.grant(ID)).rejects.toThrow(NotFoundError);
    expect([...admin.calls, ...none.calls]).toEqual([]);
  });
});
