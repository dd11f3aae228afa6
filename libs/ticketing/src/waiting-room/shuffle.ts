import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * The pre-queue shuffle, public so anyone can re-derive it from the revealed seed.
 *
 * - **Seed**: 32 random bytes, shown as 64 lower-case hex digits. Before the opening only
 *   `seedSha256` = hex SHA-256 of the 32 raw bytes is shown; after it, the seed itself.
 * - **Random stream**: HMAC-SHA256 in counter mode. Block `i` (i = 0, 1, 2, …) is
 *   `HMAC-SHA256(key = the 32 seed bytes, message = i as an 8-byte unsigned big-endian integer)`;
 *   the stream is the concatenation of the blocks, read as unsigned 32-bit big-endian words.
 * - **Uniform integer below m**: take the next word `x`; if `x < 2^32 − (2^32 mod m)`, the
 *   answer is `x mod m`, else the word is thrown away and the next one taken (no modulo bias).
 * - **Permutation** (Fisher–Yates, Durstenfeld's form): start from `order = [1, 2, …, n]`
 *   (pre-queue arrival numbers); for `i` from `n − 1` down to `1` (0-based), draw `j` uniform
 *   below `i + 1` and swap `order[i]` with `order[j]`. The user with arrival number `order[k]`
 *   gets opening position `k + 1`.
 */

/** A new seed: 64 hex digits (32 random bytes). */
export function newShuffleSeed(): string {
  return randomBytes(32).toString('hex');
}

/** Hex SHA-256 of the seed's 32 raw bytes: the commitment shown before the opening. */
export function seedCommitment(seedHex: string): string {
  return createHash('sha256').update(seedBytes(seedHex)).digest('hex');
}

/** The random stream of a seed: uniform integers below a bound, as documented above. */
export class SeedStream {
  private readonly key: Buffer;
  private block = Buffer.alloc(0);
  private offset = 0;
  private counter = 0n;

  constructor(seedHex: string) {
    this.key = seedBytes(seedHex);
  }

  /** The next unsigned 32-bit word of the stream. */
  nextWord(): number {
    if (this.offset + 4 > this.block.length) {
      const message = Buffer.alloc(8);
      message.writeBigUInt64BE(this.counter++);
      this.block = createHmac('sha256', this.key).update(message).digest();
      this.offset = 0;
    }
    const word = this.block.readUInt32BE(this.offset);
    this.offset += 4;
    return word;
  }

  /** A uniform integer in [0, bound); `bound` 1 … 2^32. */
  below(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) throw new RangeError(`bad bound ${bound}`);
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const word = this.nextWord();
      if (word < limit) return word % bound;
    }
  }
}

/**
 * The opening order of a pre-queue of `n` users: element `k` (0-based) is the arrival number
 * (1 … n) of the user at opening position `k + 1`. Deterministic in `seedHex` and `n`.
 */
export function shuffledArrivals(seedHex: string, n: number): number[] {
  const order = Array.from({ length: n }, (_, index) => index + 1);
  const stream = new SeedStream(seedHex);
  for (let i = n - 1; i >= 1; i--) {
    const j = stream.below(i + 1);
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}

function seedBytes(seedHex: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(seedHex)) throw new RangeError('a seed is 64 lower-case hex digits');
  return Buffer.from(seedHex, 'hex');
}
