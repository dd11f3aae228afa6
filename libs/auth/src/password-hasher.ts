import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';

/** argon2id (the library's default algorithm) with its default cost: 19 MiB, 2 passes. */
@Injectable()
export class PasswordHasher {
  /** Verified against when the account does not exist, so that costs as much as a wrong password. */
  private readonly dummyHash = hash(randomBytes(32));

  hash(password: string): Promise<string> {
    return hash(password);
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
