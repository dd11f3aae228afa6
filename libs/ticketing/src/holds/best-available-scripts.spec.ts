import type Redis from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { performanceKeys } from '../redis-keys';
import { holdBestAvailable } from './best-available-scripts';

/** The script calls, faked: each answers what `answers` holds next, and every call's arguments are kept. */
const { calls, answers } = vi.hoisted(() => ({
  calls: [] as { keys: string[]; args: (string | number)[] }[],
  answers: [] as unknown[][],
}));
vi.mock('@app/redis', async (importOriginal) => ({
  ...(await importOriginal<Record<string, unknown>>()),
  callScript: (_redis: unknown, _name: string, keys: string[], args: (string | number)[]) => {
    calls.push({ keys, args });
    return Promise.resolve(answers.shift());
  },
}));

const request = {
  holdId: '7-h',
  userId: 'u',
  performanceId: 7,
  lifetimeMs: 300_000,
  userLimit: 8,
  retentionMs: 60_000,
  quantity: 2,
  together: true,
  accessible: false,
  scope: { kind: 'all' as const },
};
/** ARGV[13] of hold-best-available.lua: '1' on the last round (end only the holds passed). */
const passedOnlyFlag = (call: { args: (string | number)[] }) => call.args[12];
const OK = ['OK', 1_000, 300_000, 'KRW', 'TOGETHER', '11,12', '150000,150000'];

describe('holdBestAvailable: rounds of expired holds to end', () => {
  it('passes the named holds on the next round; the first round that holds answers', async () => {
    calls.length = 0;
    answers.push(['END_HOLDS', 'a', 'b'], OK);
    const result = await holdBestAvailable({} as Redis, performanceKeys(7), request);
    expect(result).toMatchObject({ outcome: 'OK', seatIds: [11, 12] });
    expect(calls).toHaveLength(2);
    expect(calls[1].args.slice(-2)).toEqual(['a', 'b']);
    expect(calls.map(passedOnlyFlag)).toEqual([0, 0]);
  });

  it('when holds keep expiring, the fourth round ends only those it passes and answers, not fails', async () => {
    calls.length = 0;
    answers.push(['END_HOLDS', 'a'], ['END_HOLDS', 'b'], ['END_HOLDS', 'c'], OK);
    const result = await holdBestAvailable({} as Redis, performanceKeys(7), request);
    expect(result.outcome).toBe('OK');
    expect(calls.map(passedOnlyFlag)).toEqual([0, 0, 0, 1]);
    // Every hold named so far is passed, with its record among the keys.
    expect(calls[3].args.slice(-3)).toEqual(['a', 'b', 'c']);
    expect(calls[3].keys.slice(-3)).toEqual(['a', 'b', 'c'].map((id) => performanceKeys(7).hold(id)));
  });
});
