import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';
import { Env } from '@app/config';

/**
 * argon2id (the library's default algorithm) at the configured cost: by default OWASP's minimum,
 * 19 MiB and 2 passes (the test suite hashes at the cheapest, see libs/testing). A stored hash
 * carries its own cost, so hashes made at another cost still verify. Passwords are hashed and
 * checked in Unicode NFKC (NIST SP 800-63B, 5.1.1.2), so "é" typed precomposed or as "e" and a
 * combining accent, by two keyboards, is one password.
 */
@Injectable()
export class PasswordHasher {
  private readonly options: { memoryCost: number; timeCost: number };
  /** Verified against when the account does not exist, so that costs as much as a wrong password. */
  private readonly dummyHash: Promise<string>;

  /** Reads PASSWORD_HASH_MEMORY_KIB (KiB) and PASSWORD_HASH_TIME_COST (passes). */
  constructor(env: Env) {
    this.options = { memoryCost: env.PASSWORD_HASH_MEMORY_KIB, timeCost: env.PASSWORD_HASH_TIME_COST };
    this.dummyHash = hash(randomBytes(32), this.options);
  }

  hash(password: string): Promise<string> {
    return hash(password.normalize('NFKC'), this.options);
  }

  /**
   * Checks a password (in NFKC); with no stored hash it does the same work and answers false. A
   * hash made before passwords were normalised holds the password as typed: one that NFKC changes
   * is also checked as typed, so such an account still signs in the way it always did.
   */
  async verify(storedHash: string | null, password: string): Promise<boolean> {
    const normalized = password.normalize('NFKC');
    if (storedHash === null) {
      // As many verifies as a wrong password of a known account costs, or timing names accounts.
      await verify(await this.dummyHash, normalized);
      if (normalized !== password) await verify(await this.dummyHash, password);
      return false;
    }
    if (await verify(storedHash, normalized)) return true;
    return normalized !== password && verify(storedHash, password);
  }
}
