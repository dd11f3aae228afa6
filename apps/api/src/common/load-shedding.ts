import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/**
 * Why a request was shed: too many requests in flight, it waited too long before the api could
 * look at it (queued), or the event loop too busy.
 */
export type ShedReason = 'in_flight' | 'queued' | 'event_loop';

/**
 * The triggers of {@link LoadShedder} (SHED_MAX_IN_FLIGHT, SHED_MAX_QUEUE_MS,
 * SHED_EVENT_LOOP_UTILIZATION_PERCENT).
 */
export interface ShedLimits {
  /** Requests in flight at which a new one is shed; 0: no cap. */
  maxInFlight: number;
  /** Longest wait, in ms, from the proxy's sending to `onRequest` before a request is shed; 0: off. */
  maxQueueMs: number;
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
 * {@link ShedLimits.maxInFlight}, the request queued longer than {@link ShedLimits.maxQueueMs}
 * before the api read it, or the event loop's utilisation above its limit at the last sample. A request let in is counted with {@link admit} until {@link release}; the count is
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
    return this.limits.maxInFlight > 0 || this.limits.maxQueueMs > 0 || this.limits.eventLoopPercent > 0;
  }

  /**
   * Why a request arriving now is to be shed, or null to let it in; `queuedMs` is how long it
   * waited since the proxy sent it (see {@link queuedMs}), undefined when unknown.
   */
  verdict(queuedMs?: number): ShedReason | null {
    if (this.limits.maxInFlight > 0 && this.inFlight >= this.limits.maxInFlight) return 'in_flight';
    if (this.limits.maxQueueMs > 0 && queuedMs !== undefined && queuedMs > this.limits.maxQueueMs) return 'queued';
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

/**
 * Milliseconds since Nginx sent the request, from its `X-Request-Start: t=<seconds>.<ms>`
 * (`$msec`, deploy/nginx/nginx.conf.template) and this host's clock (both hosts on NTP); undefined
 * without that header or with one that does not parse. The time a request spent in the kernel's
 * queues before this process read it, which neither its own latency nor the count in flight
 * shows: the overload trial's api answered in 0.2 s on average while Nginx's clients waited 10 s.
 */
export function queuedMs(header: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  if (typeof header !== 'string' || !header.startsWith('t=')) return undefined;
  const seconds = Number(header.slice(2));
  return Number.isFinite(seconds) && seconds > 0 ? nowMs - seconds * 1000 : undefined;
}
