import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { AccountsService, AdminAccountsService, Role, SessionsService } from '@app/auth';

export interface TestSession {
  id: string;
  email: string;
  role: Role;
  accessToken: string;
  refreshToken: string;
  /** `{ authorization: 'Bearer …' }`, ready for `app.inject({ headers })`. */
  headers: { authorization: string };
}

export const TEST_PASSWORD = 'test-password-123';

/**
 * Makes a fresh account with a unique e-mail and logs it in. Goes through the services rather than
 * HTTP, so the login rate limit never gets in the way of tests that need many sessions.
 */
export async function createSession(app: INestApplication, options: { role?: Role; name?: string } = {}) {
  // `x` before the hex: a local part of only a common word and digits ("user-123456789012", 0.4 %
  // of draws) would itself be a common password's shape to the password rules.
  const email = `${options.role === Role.Admin ? 'admin' : 'user'}-x${randomBytes(6).toString('hex')}@example.test`;
  const name = options.name ?? 'Test User';
  const user =
    options.role === Role.Admin
      ? (await app.get(AdminAccountsService).ensureAdmin({ email, password: TEST_PASSWORD, name })).user
      : await app.get(AccountsService).signup({ email, password: TEST_PASSWORD, name });
  const tokens = await app.get(SessionsService).login(email, TEST_PASSWORD);
  const session: TestSession = {
    id: user.id,
    email: user.email,
    role: user.role,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    headers: { authorization: `Bearer ${tokens.accessToken}` },
  };
  return session;
}
