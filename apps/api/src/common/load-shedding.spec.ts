import { describe, expect, it } from 'vitest';
import { LoadShedder, queuedMs } from './load-shedding';

describe('LoadShedder', () => {
  it('lets requests in below the cap and sheds at it, until one in flight is answered', () => {
    const shedder = new LoadShedder({ maxInFlight: 2, maxQueueMs: 0, eventLoopPercent: 0 });
    expect(shedder.verdict()).toBeNull();
    shedder.admit();
    expect(shedder.verdict()).toBeNull();
    shedder.admit();
    expect(shedder.verdict()).toBe('in_flight');
    shedder.release();
    expect(shedder.verdict()).toBeNull();
  });

  it('sheds while the last event-loop sample is above its limit, and stops once it is not', () => {
    const shedder = new LoadShedder({ maxInFlight: 0, maxQueueMs: 0, eventLoopPercent: 90 });
    shedder.sample(0.95);
    expect(shedder.verdict()).toBe('event_loop');
    shedder.sample(0.9);
    expect(shedder.verdict()).toBeNull();
  });

  it('sheds a request that waited longer than its limit before the api read it, and not one of unknown age', () => {
    const shedder = new LoadShedder({ maxInFlight: 0, maxQueueMs: 2000, eventLoopPercent: 0 });
    expect(shedder.verdict(2001)).toBe('queued');
    expect(shedder.verdict(2000)).toBeNull();
    expect(shedder.verdict(undefined)).toBeNull();
    expect(shedder.enabled).toBe(true);
  });

  it("reads the wait from Nginx's X-Request-Start (t=<seconds>.<ms>), ignoring anything else", () => {
    expect(queuedMs('t=1000.250', 1_000_750)).toBe(500);
    expect(queuedMs('t=1000', 1_000_000)).toBe(0);
    for (const header of [undefined, '', '1000.250', 't=', 't=soon', 't=-5', ['t=1000.250']]) {
      expect(queuedMs(header, 1_000_750), String(header)).toBeUndefined();
    }
  });

  it('names the cap first when both triggers hold', () => {
    const shedder = new LoadShedder({ maxInFlight: 1, maxQueueMs: 100, eventLoopPercent: 50 });
    shedder.admit();
    shedder.sample(1);
    expect(shedder.verdict(500)).toBe('in_flight');
  });

  it('is off, shedding nothing however many are in flight, with both triggers at 0', () => {
    const shedder = new LoadShedder({ maxInFlight: 0, maxQueueMs: 0, eventLoopPercent: 0 });
    for (let i = 0; i < 10_000; i++) shedder.admit();
    shedder.sample(1);
    expect(shedder.enabled).toBe(false);
    expect(shedder.verdict(60_000)).toBeNull();
  });

  it('samples the event loop only with that trigger on, and stops', () => {
    const off = new LoadShedder({ maxInFlight: 5, maxQueueMs: 0, eventLoopPercent: 0 });
    off.start();
    expect((off as unknown as { timer?: unknown }).timer).toBeUndefined();
    const on = new LoadShedder({ maxInFlight: 0, maxQueueMs: 0, eventLoopPercent: 80 });
    on.start();
    expect((on as unknown as { timer?: unknown }).timer).toBeDefined();
    on.stop();
    expect((on as unknown as { timer?: unknown }).timer).toBeUndefined();
  });
});
