import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '@app/testing';
import { PRUNE_BATCH, PruneLoop, PruneTarget } from './prune.loop';

class TestPruneLoop extends PruneLoop {}

const NOW = Date.parse('2031-05-01T12:00:00Z');

/** A target whose deletes answer `answers` in turn (an Error: that call fails), then 0. */
function target(keptMs: number | null, answers: (number | Error)[]) {
  const deleteBefore = vi.fn(async (_before: Date, _limit: number): Promise<number> => {
    const answer = answers.shift() ?? 0;
    if (answer instanceof Error) throw answer;
    return answer;
  });
  return { rows: 'test row(s)', keptMs, deleteBefore } satisfies PruneTarget;
}

/** PruneLoop with a fake target: when it deletes, what it asks to delete, and when it stops. */
describe('PruneLoop', () => {
  let loop: PruneLoop | undefined;
  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
  });

  it('deletes batch after batch while they come back full, rows older than keptMs, then pauses', async () => {
    const pruned = target(3_600_000, [PRUNE_BATCH, PRUNE_BATCH, 7]);
    loop = new TestPruneLoop(pruned, new FakeClock(NOW));
    loop.start(60_000);
    await vi.waitFor(() => expect(pruned.deleteBefore).toHaveBeenCalledTimes(3));
    for (const [before, limit] of pruned.deleteBefore.mock.calls) {
      expect(before).toEqual(new Date(NOW - 3_600_000));
      expect(limit).toBe(PRUNE_BATCH);
    }
    // The third batch was not full: the loop waits out its pause (a minute here) before a fourth.
    await loop.stop();
    expect(pruned.deleteBefore).toHaveBeenCalledTimes(3);
  });

  it('tries again after its pause when a delete fails', async () => {
    const pruned = target(1000, [new Error('connection refused'), 5]);
    loop = new TestPruneLoop(pruned, new FakeClock(NOW));
    loop.start(1);
    await vi.waitFor(() => expect(pruned.deleteBefore.mock.calls.length).toBeGreaterThanOrEqual(2));
    await expect(pruned.deleteBefore.mock.results[1].value).resolves.toBe(5);
  });

  it('never deletes rows kept for ever (keptMs null)', async () => {
    const pruned = target(null, [PRUNE_BATCH]);
    loop = new TestPruneLoop(pruned, new FakeClock(NOW));
    loop.start(1);
    // Stopping waits for a step in progress: with none started, nothing was asked.
    await loop.stop();
    expect(pruned.deleteBefore).not.toHaveBeenCalled();
  });
});
