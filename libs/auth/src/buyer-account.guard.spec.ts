import type { ExecutionContext } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { Role } from '@app/database';
import type { AccountsService } from './accounts.service';
import { BuyerAccountGuard } from './buyer-account.guard';
import type { AuthenticatedUser } from './decorators';

const USER = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** Which AccountsService check the guard asked for, for a caller of `role` (none: a public route). */
function checkFor(verificationRequired: boolean, role?: Role): string[] {
  const asked: string[] = [];
  const accounts = {
    ensureExists: (id: string) => (asked.push(`exists ${id}`), true),
    ensureVerified: (id: string) => (asked.push(`verified ${id}`), true),
  } as unknown as AccountsService;
  const guard = new BuyerAccountGuard(
    accounts,
    parseEnv({ EMAIL_VERIFICATION_REQUIRED: String(verificationRequired) }),
  );
  const user: AuthenticatedUser | undefined = role ? { id: USER, email: 'a@example.test', role } : undefined;
  const context = { switchToHttp: () => ({ getRequest: () => ({ user }) }) } as unknown as ExecutionContext;
  expect(guard.canActivate(context)).toBe(true);
  return asked;
}

describe('BuyerAccountGuard', () => {
  it('asks for a confirmed e-mail of a buyer only while EMAIL_VERIFICATION_REQUIRED', () => {
    expect(checkFor(true, Role.User)).toEqual([`verified ${USER}`]);
    expect(checkFor(false, Role.User)).toEqual([`exists ${USER}`]);
  });

  it("asks it whatever role the token names: the account's stored role decides (a revoked STAFF token)", () => {
    for (const role of [Role.Staff, Role.Admin]) {
      expect(checkFor(true, role)).toEqual([`verified ${USER}`]);
      expect(checkFor(false, role)).toEqual([`exists ${USER}`]);
    }
  });

  it('lets a public route through without asking anything', () => {
    expect(checkFor(true)).toEqual([]);
  });
});
