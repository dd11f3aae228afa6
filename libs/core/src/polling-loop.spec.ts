import { describe, expect, it } from 'vitest';
import { PollingLoop } from './polling-loop';

class CountingLoop extends PollingLoop {
  steps = 0;
  inStep = false;
  constructor(private readonly busyFor: number) {
    super();
  }
  start(pauseMs: number): void {
    this.startLoop(pauseMs);
  }
  protected async step(): Promise<boolean> {
    this.inStep = true;
    await new Promise((r) => setTimeout(r, 5));
    this.steps += 1;
    this.inStep = false;
    return this.steps < this.busyFor;
  }
}

describe('PollingLoop', () => {
  it('runs again at once while there is work, then pauses', async () => {
    const loop = new CountingLoop(5);
    loop.start(10_000);
    await new Promise((r) => setTimeout(r, 200));
    // Five busy steps back to back, then one that found nothing, then a long pause.
    expect(loop.steps).toBe(5);
    await loop.stop();
  });

  it('stops at once from a pause, and waits for a step in progress', async () => {
    const paused = new CountingLoop(1);
    paused.start(60_000);
    await new Promise((r) => setTimeout(r, 30));
    const started = Date.now();
    await paused.stop();
    expect(Date.now() - started).toBeLessThan(1000);

    const busy = new CountingLoop(1_000_000);
    busy.start(0);
    await new Promise((r) => setTimeout(r, 12));
    await busy.stop();
    expect(busy.inStep).toBe(false);
  });
});
