import { describe, expect, it, vi } from 'vitest';
import { HoldSweeper } from './hold-sweeper';
import { HoldSweepStore } from './hold-sweep.store';

/** A sweep store over `due` (performance id → due hold ids) that ends every hold it is given. */
function sweeper(due: Record<number, string[]>, now = 5000) {
  const store = {
    performanceIds: vi.fn(async () => Object.keys(due).map(Number)),
    now: vi.fn(async () => now),
    dueHolds: vi.fn(async (ids: number[]) => ids.map((id) => due[id])),
    expire: vi.fn(async (_performanceId: number, holdIds: string[]) => holdIds.length),
  };
  return { sweeper: new HoldSweeper(store as unknown as HoldSweepStore), store };
}

describe('HoldSweeper', () => {
  it('reads nothing more when no performance is registered', async () => {
    const { sweeper: subject, store } = sweeper({});
    expect(await subject.sweepOnce()).toBe(0);
    expect(store.now).not.toHaveBeenCalled();
    expect(store.dueHolds).not.toHaveBeenCalled();
  });

  it('asks for the holds due by Redis time, at most the batch size per performance', async () => {
    const { sweeper: subject, store } = sweeper({ 1: [], 2: [] }, 1234);
    await subject.sweepOnce(50);
    expect(store.dueHolds).toHaveBeenCalledWith([1, 2], 1234, 50);
  });

  it('expires the due holds of each performance that has some, and counts what the store ended', async () => {
    const { sweeper: subject, store } = sweeper({ 1: ['a', 'b'], 2: [], 3: ['c'] });
    // Another sweeper ended `b` first: the count is the store's, not the candidates'.
    store.expire.mockImplementation(async (_performanceId: number, holdIds: string[]) =>
      holdIds.includes('b') ? 1 : holdIds.length,
    );
    expect(await subject.sweepOnce()).toBe(2);
    expect(store.expire.mock.calls).toEqual([
      [1, ['a', 'b']],
      [3, ['c']],
    ]);
  });

  it('fails the pass when reading the due holds fails', async () => {
    const { sweeper: subject, store } = sweeper({ 1: ['a'] });
    store.dueHolds.mockRejectedValue(new Error('CLUSTERDOWN'));
    await expect(subject.sweepOnce()).rejects.toThrow('CLUSTERDOWN');
    expect(store.expire).not.toHaveBeenCalled();
  });
});
