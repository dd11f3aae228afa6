import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '@app/testing';
import { PollingLoop, RepeatedFailureLog } from './polling-loop';

/** Steps at once (no timer of its own); says more is waiting for the first `busyFor` steps. */
class CountingLoop extends PollingLoop {
  steps = 0;
  constructor(private readonly busyFor: number) {
    super();
  }
  start(pauseMs: number): void {
    this.startLoop(pauseMs);
  }
  askSoon(): void {
    this.runSoon();
  }
  protected async step(): Promise<boolean> {
    this.steps += 1;
    return this.steps < this.busyFor;
  }
}

/** Each step waits until the test lets it finish; `moreWaiting` is what every step answers. */
class GatedLoop extends PollingLoop {
  inStep = false;
  steps = 0;
  private release?: () => void;
  constructor(private readonly moreWaiting = true) {
    super();
  }
  start(pauseMs: number): void {
    this.startLoop(pauseMs);
  }
  askSoon(): void {
    this.runSoon();
  }
  finishStep(): void {
    this.release?.();
  }
  protected async step(): Promise<boolean> {
    this.inStep = true;
    await new Promise<void>((resolve) => (this.release = resolve));
    this.steps += 1;
    this.inStep = false;
    return this.moreWaiting;
  }
}

/** Runs every pending promise job and every timer due within `ms` of fake time. */
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('PollingLoop', () => {
  // The clock is the test's: pauses end when the test says so, not after real time went by.
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs again at once while there is work, then pauses for exactly pauseMs', async () => {
    const loop = new CountingLoop(5);
    loop.start(10_000);
    await advance(0);
    // Five steps back to back, the fifth finding nothing more: then the pause.
    expect(loop.steps).toBe(5);
    await advance(9_999);
    expect(loop.steps).toBe(5);
    await advance(1);
    expect(loop.steps).toBe(6);
    await loop.stop();
  });

  it('stops at once from a pause, without waiting for it to end', async () => {
    const loop = new CountingLoop(1);
    loop.start(60_000);
    await advance(0);
    expect(loop.steps).toBe(1);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await advance(0);
    expect(stopped).toBe(true);
    await stopping;
    await advance(60_000);
    expect(loop.steps).toBe(1);
  });

  it('waits for the step in progress before it resolves, and starts no other', async () => {
    const loop = new GatedLoop();
    loop.start(0);
    await advance(0);
    expect(loop.inStep).toBe(true);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await advance(1_000);
    expect(stopped).toBe(false);
    loop.finishStep();
    await stopping;
    expect(loop.inStep).toBe(false);
    expect(loop.steps).toBe(1);
  });

  it('stopped during a step that found nothing, resolves when the step ends, not after the pause', async () => {
    // The batch's seat reconciliation pauses 10 s after each pass; a SIGTERM during a pass must not
    // wait those 10 s before the batch can close.
    const loop = new GatedLoop(false);
    loop.start(60_000);
    await advance(0);
    expect(loop.inStep).toBe(true);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    loop.finishStep();
    await advance(0);
    expect(stopped).toBe(true);
    await stopping;
    expect(loop.steps).toBe(1);
  });
});

describe('PollingLoop.runSoon', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('ends a pause at once: the next step runs now, then the loop pauses for the whole pauseMs again', async () => {
    const loop = new CountingLoop(1);
    loop.start(60_000);
    await advance(0);
    expect(loop.steps).toBe(1);
    await advance(30_000);
    loop.askSoon();
    await advance(0);
    expect(loop.steps).toBe(2);
    await advance(59_999);
    expect(loop.steps).toBe(2);
    await advance(1);
    expect(loop.steps).toBe(3);
    await loop.stop();
  });

  it('called during a step (any number of times), runs exactly one more step without the pause', async () => {
    const loop = new GatedLoop(false);
    loop.start(60_000);
    await advance(0);
    expect(loop.inStep).toBe(true);
    loop.askSoon();
    loop.askSoon();
    loop.finishStep();
    await advance(0);
    expect(loop.steps).toBe(1);
    expect(loop.inStep).toBe(true);
    loop.finishStep();
    await advance(59_999);
    // The second step found nothing and nobody asked again: a whole pause.
    expect(loop.steps).toBe(2);
    expect(loop.inStep).toBe(false);
    await advance(1);
    expect(loop.inStep).toBe(true);
    const stopping = loop.stop();
    loop.finishStep();
    await stopping;
  });
});

describe('RepeatedFailureLog', () => {
  it('warns on a new failure, and again for an unchanged one every 30 s with the repeat count', () => {
    let now = 1_000_000;
    const warnings: string[] = [];
    const log = new RepeatedFailureLog(
      (message) => warnings.push(message),
      () => now,
    );
    log.failed('lock timeout');
    expect(warnings).toEqual(['lock timeout']);
    now += 10_000;
    log.failed('lock timeout');
    now += 19_999;
    log.failed('lock timeout');
    expect(warnings).toHaveLength(1);
    now += 1;
    log.failed('lock timeout');
    expect(warnings).toEqual(['lock timeout', 'lock timeout (again, 3 times in 30 s)']);
    // The count and the interval start over from that warning.
    now += 29_999;
    log.failed('lock timeout');
    expect(warnings).toHaveLength(2);
    now += 1;
    log.failed('lock timeout');
    expect(warnings[2]).toBe('lock timeout (again, 2 times in 30 s)');
  });

  it('warns at once for a changed failure, and for the old one again after a success', () => {
    const warnings: string[] = [];
    const log = new RepeatedFailureLog(
      (message) => warnings.push(message),
      () => 0,
    );
    log.failed('a');
    log.failed('b');
    let recovered = false;
    log.succeeded(() => (recovered = true));
    log.failed('b');
    expect(warnings).toEqual(['a', 'b', 'b']);
    expect(recovered).toBe(true);
  });

  it('a changed failure that comes back within the interval is counted, not logged again', () => {
    const clock = new FakeClock(0);
    const warnings: string[] = [];
    const log = new RepeatedFailureLog(
      (message) => warnings.push(message),
      () => clock.nowMs(),
    );
    log.failed('a');
    log.failed('b');
    log.failed('a');
    log.failed('b');
    expect(warnings).toEqual(['a', 'b']);
    clock.advance(30_000);
    log.failed('a');
    expect(warnings).toEqual(['a', 'b', 'a (again, 2 times in 30 s)', 'b (again, 1 times in 30 s)']);
  });
});

describe('RepeatedFailureLog by kind', () => {
  interface Failure {
    kind: string;
    text: string;
  }
  const lines: string[] = [];
  const clock = new FakeClock(Date.UTC(2026, 11, 7));
  const byKind = () =>
    new RepeatedFailureLog<Failure>(
      {
        first: (failure) => lines.push(`first ${failure.text}`),
        again: (latest, count, ms) =>
          lines.push(`${count} more like ${latest.kind} in ${ms} ms, the last ${latest.text}`),
      },
      () => clock.nowMs(),
      { intervalMs: 10_000, kindOf: (failure) => failure.kind },
    );
  const failure = (kind: string, text: string): Failure => ({ kind, text });

  it('logs the first of each kind in full, whatever its text, then one summary a kind per interval', () => {
    lines.length = 0;
    const log = byKind();
    log.failed(failure('redis', 'MOVED 1 a:1'));
    log.failed(failure('postgres', 'refused'));
    for (let slot = 2; slot <= 1_235; slot += 1) log.failed(failure('redis', `MOVED ${slot} a:${slot}`));
    clock.advance(9_999);
    log.failed(failure('postgres', 'refused again'));
    expect(lines).toEqual(['first MOVED 1 a:1', 'first refused']);
    expect(log.flush()).toBe(true);
    expect(lines).toHaveLength(2);
    clock.advance(1);
    expect(log.flush()).toBe(true);
    expect(lines.slice(2)).toEqual([
      '1234 more like redis in 10000 ms, the last MOVED 1235 a:1235',
      '1 more like postgres in 10000 ms, the last refused again',
    ]);
    // The next interval counts from that line.
    log.failed(failure('redis', 'MOVED 9 a:9'));
    clock.advance(12_000);
    log.flush();
    expect(lines.slice(4)).toEqual(['1 more like redis in 12000 ms, the last MOVED 9 a:9']);
  });

  it('forgets a kind quiet for a whole interval: its next failure is logged in full again', () => {
    lines.length = 0;
    const log = byKind();
    log.failed(failure('redis', 'first outage'));
    clock.advance(10_000);
    expect(log.flush()).toBe(false);
    log.failed(failure('redis', 'second outage'));
    expect(lines).toEqual(['first first outage', 'first second outage']);
    // Without a flush in between, the next failure after a quiet interval is logged in full too.
    clock.advance(10_000);
    log.failed(failure('redis', 'third outage'));
    expect(lines).toEqual(['first first outage', 'first second outage', 'first third outage']);
  });

  it('writes a summary due at the next failure of any kind, without a flush', () => {
    lines.length = 0;
    const log = byKind();
    log.failed(failure('redis', 'r1'));
    log.failed(failure('redis', 'r2'));
    clock.advance(10_000);
    log.failed(failure('postgres', 'p1'));
    expect(lines).toEqual(['first r1', 'first p1', '1 more like redis in 10000 ms, the last r2']);
  });
});
