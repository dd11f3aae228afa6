import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newShuffleSeed, SeedStream, seedCommitment, shuffledArrivals } from './shuffle';

/** Upper 0.999 quantile of chi-square: Wilson–Hilferty approximation (z = 3.09). */
function chiSquareCritical(degrees: number): number {
  const z = 3.09;
  const a = 2 / (9 * degrees);
  return degrees * (1 - a + z * Math.sqrt(a)) ** 3;
}

describe('pre-queue shuffle', () => {
  it('is a permutation of 1..n, the same for the same seed and another for another seed', () => {
    const seed = newShuffleSeed();
    const order = shuffledArrivals(seed, 1000);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(shuffledArrivals(seed, 1000)).toEqual(order);
    expect(shuffledArrivals(newShuffleSeed(), 1000)).not.toEqual(order);
    expect(shuffledArrivals(seed, 0)).toEqual([]);
    expect(shuffledArrivals(seed, 1)).toEqual([1]);
  });

  it('follows the documented stream: HMAC-SHA256(seed, counter as 8-byte big-endian), 32-bit big-endian words', () => {
    const seed = '00'.repeat(31) + '01';
    const block0 = createHmac('sha256', Buffer.from(seed, 'hex')).update(Buffer.alloc(8)).digest();
    const counter1 = Buffer.alloc(8);
    counter1.writeBigUInt64BE(1n);
    const block1 = createHmac('sha256', Buffer.from(seed, 'hex')).update(counter1).digest();
    const stream = new SeedStream(seed);
    const words = Array.from({ length: 9 }, () => stream.nextWord());
    expect(words.slice(0, 8)).toEqual(Array.from({ length: 8 }, (_, i) => block0.readUInt32BE(i * 4)));
    expect(words[8]).toBe(block1.readUInt32BE(0));
    expect(seedCommitment(seed)).toBe(createHash('sha256').update(Buffer.from(seed, 'hex')).digest('hex'));
  });

  it('re-derives by hand: Fisher–Yates from the end with rejection-sampled draws', () => {
    const seed = newShuffleSeed();
    const stream = new SeedStream(seed);
    const order = [1, 2, 3, 4, 5];
    for (let i = 4; i >= 1; i--) {
      const bound = i + 1;
      let word = stream.nextWord();
      while (word >= 2 ** 32 - (2 ** 32 % bound)) word = stream.nextWord();
      const j = word % bound;
      [order[i], order[j]] = [order[j], order[i]];
    }
    expect(shuffledArrivals(seed, 5)).toEqual(order);
  });

  it('is uniform: every one of the 120 orders of 5 equally likely (chi-square over 24,000 seeded runs)', () => {
    const runs = 24_000;
    const counts = new Map<string, number>();
    for (let run = 0; run < runs; run++) {
      const seed = createHash('sha256').update(`run-${run}`).digest('hex');
      const key = shuffledArrivals(seed, 5).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(120);
    const expected = runs / 120;
    let chi = 0;
    for (const count of counts.values()) chi += (count - expected) ** 2 / expected;
    expect(chi).toBeLessThan(chiSquareCritical(119));
  });

  it('is uniform per place: each arrival lands on each position equally often (chi-square, n = 20, 10,000 runs)', () => {
    const n = 20;
    const runs = 10_000;
    const table = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let run = 0; run < runs; run++) {
      const seed = createHash('sha256').update(`place-${run}`).digest('hex');
      shuffledArrivals(seed, n).forEach((arrival, position) => table[arrival - 1][position]++);
    }
    const expected = runs / n;
    for (const row of table) {
      let chi = 0;
      for (const count of row) chi += (count - expected) ** 2 / expected;
      expect(chi).toBeLessThan(chiSquareCritical(n - 1));
    }
  });

  it('refuses a seed that is not 64 hex digits', () => {
    expect(() => shuffledArrivals('abc', 3)).toThrow(RangeError);
  });
});
