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
});
