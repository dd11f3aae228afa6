import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';
import { Env } from '@app/config';

/**
 * argon2id (the library's default algorithm) at the configured cost: by default OWASP's minimum,
 * 19 MiB and 2 passes (the test suite hashes at the cheapest, see libs/testing). A stored hash
 * carries its own cost, so hashes made at another cost still verify.
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
    return hash(password, this.options);
  }

  /** Checks a password; with no stored hash it does the same work and answers false. */
  async verify(storedHash: string | null, password: string): Promise<boolean> {
    if (storedHash === null) {
      await verify(await this.dummyHash, password);
      return false;
    }
    return verify(storedHash, password);
  }
}
