import { describe, expect, it } from 'vitest';
import { perTurn } from './per-turn';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('perTurn', () => {
  it('calls read once for every caller of one turn, and again in the next turn', async () => {
    let calls = 0;
    const shared = perTurn(async () => ++calls);
    const first = shared();
    // A caller later in the same turn, after microtasks ran (another request's await).
    await Promise.resolve();
    const second = shared();
    expect(second).toBe(first);
    expect(await Promise.all([first, second])).toEqual([1, 1]);
    await nextTurn();
    expect(await shared()).toBe(2);
    expect(calls).toBe(2);
  });

  it('hands a rejection to every caller of the turn, and reads afresh in the next', async () => {
    let calls = 0;
    const shared = perTurn(async () => {
      calls += 1;
      if (calls === 1) throw new Error('down');
      return 'up';
    });
    const failures = [shared(), shared()];
    await expect(failures[0]).rejects.toThrow('down');
    await expect(failures[1]).rejects.toThrow('down');
    await nextTurn();
    await expect(shared()).resolves.toBe('up');
  });
});
