import { describe, expect, it } from 'vitest';
import type { Env } from '@app/config';
import { AdminAccountsService, AdminBootstrap } from './admin-accounts.service';

describe('AdminBootstrap', () => {
  it('stops the start, naming ADMIN_PASSWORD, when it is too easily guessed; ensures nothing', async () => {
    const ensured: unknown[] = [];
    const admins = {
      ensureAdmin: async (input: unknown) => void ensured.push(input),
      bootstrapAdmin: async (input: unknown) => void ensured.push(input),
    } as unknown as AdminAccountsService;
    for (const [password, reason] of [
      ['        ', 'password must not be only white space'],
      ['00000000', 'password must not be one character repeated'],
      ['12345678', 'password must not be a run of consecutive characters, such as 12345678 or abcdefgh'],
    ]) {
      const env = { ADMIN_EMAIL: 'ops@example.test', ADMIN_PASSWORD: password } as Env;
      await expect(new AdminBootstrap(env, admins).onApplicationBootstrap()).rejects.toThrow(
        `ADMIN_PASSWORD: ${reason}`,
      );
    }
    expect(ensured).toEqual([]);
  });

  it('starts when the admin it made has moved to another address, creating nothing, with a warning naming it', async () => {
    const admins = {
      bootstrapAdmin: async () => ({ outcome: 'moved', user: { id: 'a1', email: 'ops-new@example.test' } }),
    } as unknown as AdminAccountsService;
    const env = { ADMIN_EMAIL: 'ops@example.test', ADMIN_PASSWORD: 'operator passphrase 31' } as Env;
    const bootstrap = new AdminBootstrap(env, admins);
    const warnings: string[] = [];
    (bootstrap as unknown as { logger: { warn(message: string): void } }).logger = {
      warn: (message) => void warnings.push(message),
    };
    await bootstrap.onApplicationBootstrap();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('account a1');
    expect(warnings[0]).toContain('Set ADMIN_EMAIL to ops-new@example.test');
  });

  it('says the admin it made was deleted, not that it moved to its anonymised address', async () => {
    const gone = 'deleted-a1@invalid';
    const admins = {
      bootstrapAdmin: async () => ({ outcome: 'moved', user: { id: 'a1', email: gone, deletedAt: new Date() } }),
    } as unknown as AdminAccountsService;
    const env = { ADMIN_EMAIL: 'ops@example.test', ADMIN_PASSWORD: 'operator passphrase 31' } as Env;
    const bootstrap = new AdminBootstrap(env, admins);
    const warnings: string[] = [];
    (bootstrap as unknown as { logger: { warn(message: string): void } }).logger = {
      warn: (message) => void warnings.push(message),
    };
    await bootstrap.onApplicationBootstrap();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('account a1');
    expect(warnings[0]).toContain('was deleted');
    // Following the advice would make the deleted account an admin again (one no one can sign in to).
    expect(warnings[0]).not.toContain(`Set ADMIN_EMAIL to ${gone}`);
  });
});
