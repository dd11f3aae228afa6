import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher';

/** A batch function whose calls end when the test says so. */
function controlledRun() {
  const calls: { inputs: number[]; finish: (outputs: string[]) => void; fail: (error: Error) => void }[] = [];
  const run = (inputs: number[]) =>
    new Promise<string[]>((resolve, reject) => calls.push({ inputs, finish: resolve, fail: reject }));
  return { calls, run };
}

describe('Batcher', () => {
  it('sends an item alone at once while a slot is free', async () => {
    const { calls, run } = controlledRun();
    const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 1 });
    const answer = batcher.submit(1);
    expect(calls.map((call) => call.inputs)).toEqual([[1]]);
    calls[0].finish(['one']);
    expect(await answer).toBe('one');
    expect(batcher.sent).toEqual({ batches: 1, items: 1 });
  });

  it('queues items that meet a full set of batches in flight and sends them together, each getting its own output', async () => {
    const { calls, run } = controlledRun();
    const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 1 });
    const answers = [1, 2, 3, 4].map((n) => batcher.submit(n));
    expect(calls.map((call) => call.inputs)).toEqual([[1]]);
    calls[0].finish(['a']);
    await answers[0];
    expect(calls.map((call) => call.inputs)).toEqual([[1], [2, 3, 4]]);
    calls[1].finish(['b', 'c', 'd']);
    expect(await Promise.all(answers)).toEqual(['a', 'b', 'c', 'd']);
    expect(batcher.sent).toEqual({ batches: 2, items: 4 });
  });

  it('keeps up to maxInFlight batches running and bounds each to maxBatch items', async () => {
    const { calls, run } = controlledRun();
    const batcher = new Batcher(run, { maxBatch: 2, maxInFlight: 2 });
    const answers = [1, 2, 3, 4, 5, 6].map((n) => batcher.submit(n));
    expect(calls.map((call) => call.inputs)).toEqual([[1], [2]]);
    calls[0].finish(['1']);
    await answers[0];
    expect(calls.map((call) => call.inputs)).toEqual([[1], [2], [3, 4]]);
    calls[1].finish(['2']);
    await answers[1];
    expect(calls.map((call) => call.inputs)).toEqual([[1], [2], [3, 4], [5, 6]]);
    calls[2].finish(['3', '4']);
    calls[3].finish(['5', '6']);
    expect(await Promise.all(answers)).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('rejects every item of a failed batch with its error, and goes on with the next batch', async () => {
    const { calls, run } = controlledRun();
    const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 1 });
    const first = batcher.submit(1);
    const failed = [2, 3].map((n) => batcher.submit(n));
    const later = batcher.submit(4);
    calls[0].finish(['1']);
    await first;
    // 4 was submitted while the first batch ran, like 2 and 3: it shares their batch.
    expect(calls[1].inputs).toEqual([2, 3, 4]);
    const error = new Error('statement failed');
    calls[1].fail(error);
    for (const answer of [...failed, later]) await expect(answer).rejects.toBe(error);
    const next = batcher.submit(5);
    expect(calls[2].inputs).toEqual([5]);
    calls[2].finish(['5']);
    expect(await next).toBe('5');
  });

  it('rejects the items of a batch whose function answers a different number of outputs', async () => {
    const batcher = new Batcher(async () => ['only one'], { maxBatch: 10, maxInFlight: 1 });
    const block = batcher.submit(0);
    const answers = [1, 2].map((n) => batcher.submit(n));
    expect(await block).toBe('only one');
    for (const answer of answers) await expect(answer).rejects.toThrow('batch of 2 items answered 1 outputs');
  });

  it("with sizeOf, bounds a batch by the sum of its items' sizes, in order, and sends an item larger than maxBatch alone", async () => {
    const { calls, run } = controlledRun();
    const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 1, sizeOf: (n: number) => n });
    const answers = [1, 4, 5, 2, 12, 3].map((n) => batcher.submit(n));
    expect(calls.map((call) => call.inputs)).toEqual([[1]]);
    calls[0].finish(['1']);
    await answers[0];
    // 4 + 5 fit in 10; 2 more would not.
    expect(calls[1].inputs).toEqual([4, 5]);
    calls[1].finish(['4', '5']);
    await answers[2];
    expect(calls[2].inputs).toEqual([2]);
    calls[2].finish(['2']);
    await answers[3];
    expect(calls[3].inputs).toEqual([12]);
    calls[3].finish(['12']);
    await answers[4];
    expect(calls[4].inputs).toEqual([3]);
    calls[4].finish(['3']);
    expect(await Promise.all(answers)).toEqual(['1', '4', '5', '2', '12', '3']);
  });

  describe('lingering for the turn', () => {
    const turnEnd = () => new Promise<void>((resolve) => setImmediate(resolve));

    it('sends the items submitted in one turn as one batch at the end of the turn, not the first alone', async () => {
      const { calls, run } = controlledRun();
      const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 1, lingerForTurn: true });
      const answers = [1, 2, 3].map((n) => batcher.submit(n));
      expect(calls).toEqual([]);
      await turnEnd();
      expect(calls.map((call) => call.inputs)).toEqual([[1, 2, 3]]);
      calls[0].finish(['a', 'b', 'c']);
      expect(await Promise.all(answers)).toEqual(['a', 'b', 'c']);
      expect(batcher.sent).toEqual({ batches: 1, items: 3 });
    });

    it('sends a lone item after its turn, and items of a later turn in a batch of their own', async () => {
      const { calls, run } = controlledRun();
      const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 2, lingerForTurn: true });
      const first = batcher.submit(1);
      await turnEnd();
      expect(calls.map((call) => call.inputs)).toEqual([[1]]);
      const later = [2, 3].map((n) => batcher.submit(n));
      await turnEnd();
      expect(calls.map((call) => call.inputs)).toEqual([[1], [2, 3]]);
      calls[0].finish(['1']);
      calls[1].finish(['2', '3']);
      expect(await Promise.all([first, ...later])).toEqual(['1', '2', '3']);
    });

    it('still sends what waited as soon as a batch in flight ends, without lingering again', async () => {
      const { calls, run } = controlledRun();
      const batcher = new Batcher(run, { maxBatch: 10, maxInFlight: 1, lingerForTurn: true });
      const first = batcher.submit(1);
      await turnEnd();
      const waiting = [2, 3].map((n) => batcher.submit(n));
      await turnEnd();
      // One batch in flight: the later items wait for it, not for a turn.
      expect(calls.map((call) => call.inputs)).toEqual([[1]]);
      calls[0].finish(['1']);
      await first;
      expect(calls.map((call) => call.inputs)).toEqual([[1], [2, 3]]);
      calls[1].finish(['2', '3']);
      expect(await Promise.all(waiting)).toEqual(['2', '3']);
    });
  });
});
