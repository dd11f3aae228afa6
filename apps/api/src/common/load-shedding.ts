import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Why a request was shed: too many requests in flight, or the event loop too busy. */
export type ShedReason = 'in_flight' | 'event_loop';

/** The triggers of {@link LoadShedder} (SHED_MAX_IN_FLIGHT, SHED_EVENT_LOOP_UTILIZATION_PERCENT). */
export interface ShedLimits {
  /** Requests in flight at which a new one is shed; 0: no cap. */
  maxInFlight: number;
  /** Event-loop utilisation, in percent of the last sample, above which requests are shed; 0: off. */
  eventLoopPercent: number;
}

/** Seconds a shed request's client is told to wait (Retry-After): the shedding itself is cheap. */
export const SHED_RETRY_AFTER_SECONDS = 1;

/** How often the event loop's utilisation is sampled, in ms (only with that trigger on). */
export const EVENT_LOOP_SAMPLE_MS = 500;

/**
 * The shed answer's message. Nothing was done for the request, so a client may send it again as
 * it was, a purchase with the same Idempotency-Key too (no charge, no hold, nothing changed).
 */
export const SHED_MESSAGE =
  'The api is past capacity and did nothing with this request: retry after Retry-After seconds ' +
  '(a purchase with the same Idempotency-Key is safe to retry: nothing was charged or held)';

/**
 * Decides, per request at `onRequest`, whether the api is past capacity: requests in flight at
 * {@link ShedLimits.maxInFlight}, or the event loop's utilisation above its limit at the last
 * sample. A request let in is counted with {@link admit} until {@link release}; the count is
 * the only work on the hot path while nothing is shed.
 */
export class LoadShedder {
  /** Requests let in and not yet answered (or their connection closed). */
  inFlight = 0;
  private loopBusy = false;
  private timer: NodeJS.Timeout | undefined;
  private last: EventLoopUtilization | undefined;

  constructor(private readonly limits: ShedLimits) {}

  /** False when both triggers are off: nothing is counted, nothing shed. */
  get enabled(): boolean {
    return this.limits.maxInFlight > 0 || this.limits.eventLoopPercent > 0;
  }

  /** Why a request arriving now is to be shed, or null to let it in. */
  verdict(): ShedReason | null {
    if (this.limits.maxInFlight > 0 && this.inFlight >= this.limits.maxInFlight) return 'in_flight';
    return this.loopBusy ? 'event_loop' : null;
  }

  /** Counts a request let in. */
  admit(): void {
    this.inFlight++;
  }

  /** Uncounts a request let in with {@link admit}, once its answer is done or its connection gone. */
  release(): void {
    this.inFlight--;
  }

  /** Takes one sample of the event loop's utilisation, a fraction 0–1 of the time since the last. */
  sample(utilization: number): void {
    this.loopBusy = this.limits.eventLoopPercent > 0 && utilization * 100 > this.limits.eventLoopPercent;
  }

  /** Starts sampling the event loop every {@link EVENT_LOOP_SAMPLE_MS} ms, when that trigger is on. */
  start(): void {
    if (this.limits.eventLoopPercent === 0 || this.timer !== undefined) return;
    this.last = performance.eventLoopUtilization();
    this.timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      this.sample(performance.eventLoopUtilization(now, this.last).utilization);
      this.last = now;
    }, EVENT_LOOP_SAMPLE_MS).unref();
  }

  /** Stops the sampling. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
