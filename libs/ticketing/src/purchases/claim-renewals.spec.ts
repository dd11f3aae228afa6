import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClaimRenewals } from './claim-renewals';

afterEach(() => vi.useRealTimers());

/** A claim renewed every `periodMs`, recording when (fake ms since the start); `answer` is what its store says. */
function claim(periodMs: number, answer: () => Promise<boolean> = async () => true) {
  const renewedAt: number[] = [];
  const started = Date.now();
  return {
    renewedAt,
    claim: {
      periodMs,
      what: `claim ${periodMs}`,
      renew: vi.fn(() => {
        renewedAt.push(Date.now() - started);
        return answer();
      }),
    },
  };
}

/** Work that runs until `end()` is called. */
function work() {
  let end!: () => void;
  const done = new Promise<string>((resolve) => (end = () => resolve('done')));
  return { run: () => done, end };
}

describe('ClaimRenewals', () => {
  it('renews claims of different periods from one timer, each within half to 1.5 of its period, until its work ends', async () => {
    vi.useFakeTimers();
    const renewals = new ClaimRenewals();
    const timersBefore = vi.getTimerCount();
    // A hold's claim (period 400 ms) and, taken inside it, an Idempotency-Key's (period 100 ms).
    const hold = claim(400);
    const key = claim(100);
    const holdWork = work();
    const keyWork = work();
    const holding = renewals.whileRenewed(hold.claim, holdWork.run);
    const keying = renewals.whileRenewed(key.claim, keyWork.run);
    expect(vi.getTimerCount() - timersBefore).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(key.renewedAt).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    // Ticks every 100 ms since the key's claim came: due from 350 ms after its last renewal.
    expect(hold.renewedAt).toEqual([400, 800]);
    keyWork.end();
    expect(await keying).toBe('done');
    await vi.advanceTimersByTimeAsync(800);
    expect(key.renewedAt).toHaveLength(10);
    expect(hold.renewedAt).toEqual([400, 800, 1200, 1600]);
    holdWork.end();
    await holding;
    // No claim left: the timer is gone and nothing is renewed any more.
    expect(vi.getTimerCount()).toBe(timersBefore);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(hold.renewedAt).toHaveLength(4);
  });

  it('renews a claim the store refused no more, keeps the others, and tries a failed renewal again', async () => {
    vi.useFakeTimers();
    const renewals = new ClaimRenewals();
    const lost = claim(100, async () => false);
    let failures = 1;
    const flaky = claim(100, async () => {
      if (failures-- > 0) throw new Error('connection reset');
      return true;
    });
    const both = work();
    const running = Promise.all([
      renewals.whileRenewed(lost.claim, both.run),
      renewals.whileRenewed(flaky.claim, both.run),
    ]);
    await vi.advanceTimersByTimeAsync(300);
    expect(lost.renewedAt).toEqual([100]);
    expect(flaky.renewedAt).toEqual([100, 200, 300]);
    both.end();
    expect(await running).toEqual(['done', 'done']);
  });

  it("keeps renewing on its period when the wall clock is set back (the process's clock is stepped, not slewed)", async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const renewals = new ClaimRenewals();
    const renewed = vi.fn(async () => true);
    const running = work();
    const renewing = renewals.whileRenewed({ periodMs: 100, what: 'claim', renew: renewed }, running.run);
    await vi.advanceTimersByTimeAsync(100);
    expect(renewed).toHaveBeenCalledTimes(1);
    // An NTP step or a VM resumed on another host sets the wall clock back an hour: the lease in
    // Redis keeps running out on Redis' clock, so the claim must still be renewed every period.
    vi.setSystemTime(Date.now() - 3_600_000);
    await vi.advanceTimersByTimeAsync(300);
    expect(renewed).toHaveBeenCalledTimes(4);
    running.end();
    await renewing;
  });

  it('stops with work that throws, and passes its error on', async () => {
    vi.useFakeTimers();
    const renewals = new ClaimRenewals();
    const timersBefore = vi.getTimerCount();
    const failing = claim(100);
    await expect(
      renewals.whileRenewed(failing.claim, async () => {
        await vi.advanceTimersByTimeAsync(150);
        throw new Error('declined');
      }),
    ).rejects.toThrow('declined');
    expect(vi.getTimerCount()).toBe(timersBefore);
    expect(failing.renewedAt).toEqual([100]);
  });
});
