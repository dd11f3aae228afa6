import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseEnv } from '@app/config';
import type { PasswordHasher } from './password-hasher';

vi.mock('@node-rs/argon2', async (importActual) => {
  const actual = await importActual<typeof import('@node-rs/argon2')>();
  return { ...actual, verify: vi.fn(actual.verify) };
});

describe('PasswordHasher', () => {
  let argon2: typeof import('@node-rs/argon2');
  let hasher: PasswordHasher;

  beforeAll(async () => {
    // The unit project shares a worker's modules between files: another file may have loaded the
    // real library already. Loaded afresh, the hasher gets the mocked one.
    vi.resetModules();
    argon2 = await import('@node-rs/argon2');
    // The production cost (the defaults): this file tests hashing itself.
    hasher = new (await import('./password-hasher.js')).PasswordHasher(parseEnv({}));
  });

  it('hashes with argon2id and a fresh salt each time', async () => {
    const first = await hasher.hash('correct horse battery');
    const second = await hasher.hash('correct horse battery');
    expect(first).toMatch(/^\$argon2id\$/);
    expect(first).not.toBe(second);
  });

  it('hashes at the configured cost: by default 19 MiB and 2 passes', async () => {
    expect(await hasher.hash('correct horse battery')).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const { PasswordHasher } = await import('./password-hasher.js');
    const cheapest = new PasswordHasher(
      parseEnv({ NODE_ENV: 'test', PASSWORD_HASH_MEMORY_KIB: '8', PASSWORD_HASH_TIME_COST: '1' }),
    );
    const stored = await cheapest.hash('correct horse battery');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=8,t=1,p=1\$/);
    // A hash keeps its own cost: one made at another cost still verifies.
    expect(await hasher.verify(stored, 'correct horse battery')).toBe(true);
    expect(await hasher.verify(stored, 'wrong horse battery')).toBe(false);
  });

  it('verifies the right password only', async () => {
    const stored = await hasher.hash('correct horse battery');
    expect(await hasher.verify(stored, 'correct horse battery')).toBe(true);
    expect(await hasher.verify(stored, 'wrong horse battery')).toBe(false);
  });

  it('takes a password in any Unicode normalisation form as one (NFKC): precomposed or combining accents', async () => {
    const stored = await hasher.hash('caf\u00e9 pass x');
    expect(await hasher.verify(stored, 'cafe\u0301 pass x')).toBe(true);
    expect(await hasher.verify(stored, 'caf\u00e9 pass x')).toBe(true);
    expect(await hasher.verify(await hasher.hash('cafe\u0301 pass x'), 'caf\u00e9 pass x')).toBe(true);
    expect(await hasher.verify(stored, 'cafe pass x')).toBe(false);
  });

  it('still accepts, as typed, a password an older version hashed without normalising it', async () => {
    const legacy = await argon2.hash('cafe\u0301 pass x', { memoryCost: 19456, timeCost: 2 });
    expect(await hasher.verify(legacy, 'cafe\u0301 pass x')).toBe(true);
    expect(await hasher.verify(legacy, 'wrong pass x')).toBe(false);
  });

  it('without a stored hash, verifies as often as a wrong password of a known account costs (two when NFKC changes it)', async () => {
    const stored = await hasher.hash('correct horse battery');
    for (const wrong of ['wrong horse battery', '\ufb01ne wrong pass']) {
      vi.mocked(argon2.verify).mockClear();
      expect(await hasher.verify(stored, wrong)).toBe(false);
      const known = vi.mocked(argon2.verify).mock.calls.length;
      vi.mocked(argon2.verify).mockClear();
      expect(await hasher.verify(null, wrong)).toBe(false);
      expect(vi.mocked(argon2.verify).mock.calls.length, wrong).toBe(known);
    }
  });

  it('answers false without a stored hash, after a full argon2id verify of the same cost', async () => {
    const stored = await hasher.hash('correct horse battery');
    vi.mocked(argon2.verify).mockClear();
    expect(await hasher.verify(null, 'correct horse battery')).toBe(false);
    expect(argon2.verify).toHaveBeenCalledTimes(1);
    const [dummy] = vi.mocked(argon2.verify).mock.calls[0];
    const costOf = (hash: string) => hash.split('$').slice(1, 4).join('$');
    expect(costOf(String(dummy))).toBe(costOf(stored));
  });
});
