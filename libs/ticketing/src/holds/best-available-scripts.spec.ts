import { describe, expect, it } from 'vitest';
import { fakeScriptClient, scriptArgv as argv } from '../../test/fake-script-client';
import { performanceKeys } from '../redis-keys';
import { HOLD_BEST_AVAILABLE, holdBestAvailable } from './best-available-scripts';

/**
 * The wrapper's rounds with the script's answers faked (see `fakeScriptClient`). What the script
 * does on a real Redis is in best-available.int-spec.ts ("on its last round").
 */
const fakeClient = (answers: unknown[][]) => fakeScriptClient([HOLD_BEST_AVAILABLE], answers);

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
const OK = ['OK', 1_000, 300_000, 'KRW', 'TOGETHER', '11,12', '150000,150000'];
/** ARGV[14] of hold-best-available.lua: '1' on the last round (end only the holds passed). */
const passedOnly = (call: string[]) => argv(call)[13];

describe('holdBestAvailable: rounds of expired holds to end', () => {
  it('passes the named holds on the next round; the first round that holds answers', async () => {
    const { redis, calls } = fakeClient([['END_HOLDS', 'a', 'b'], OK]);
    const result = await holdBestAvailable(redis, performanceKeys(7), request);
    expect(result).toMatchObject({ outcome: 'OK', seatIds: [11, 12] });
    expect(calls).toHaveLength(2);
    expect(argv(calls[1]).slice(-2)).toEqual(['a', 'b']);
    expect(calls.map(passedOnly)).toEqual(['0', '0']);
  });

  it('when holds keep expiring, the fourth round ends only those it passes and answers, not fails', async () => {
    const { redis, calls } = fakeClient([['END_HOLDS', 'a'], ['END_HOLDS', 'b'], ['END_HOLDS', 'c'], OK]);
    const result = await holdBestAvailable(redis, performanceKeys(7), request);
    expect(result.outcome).toBe('OK');
    expect(calls.map(passedOnly)).toEqual(['0', '0', '0', '1']);
    // Every hold named so far is passed, with its record among the keys (13 fixed keys first).
    expect(argv(calls[3]).slice(-3)).toEqual(['a', 'b', 'c']);
    expect(calls[3].slice(2 + 13, 2 + 16)).toEqual(['a', 'b', 'c'].map((id) => performanceKeys(7).hold(id)));
  });
});
