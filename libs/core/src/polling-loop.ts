import { BeforeApplicationShutdown } from '@nestjs/common';

/**
 * A background loop of a worker: runs `step` again and again, at once while it says more work is
 * waiting, else after a pause. Stopping wakes a pausing loop and waits for the step in progress,
 * and happens before the application closes its connections, so the last step can still finish.
 */
export abstract class PollingLoop implements BeforeApplicationShutdown {
  private running?: Promise<void>;
  private stopping = false;
  private wake?: () => void;
  /** Set by `runSoon`: the step in progress, if any, is followed by the next one without a pause. */
  private nextStepAsked = false;

  /** Whether `stop` was called: a step that waited may end without doing its work. */
  protected get stopRequested(): boolean {
    return this.stopping;
  }

  /** One unit of work; resolves `true` when more is waiting. Must not throw. */
  protected abstract step(): Promise<boolean>;

  protected startLoop(pauseMs: number): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.run(pauseMs);
  }

  /**
   * Starts the next step now instead of after the pause: ends the pause in progress, or skips the
   * one after the step in progress (one more step, however often it is called meanwhile).
   */
  protected runSoon(): void {
    this.nextStepAsked = true;
    this.wake?.();
  }

  /** Ends the loop: resolves once the step in progress, if any, has finished. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private async run(pauseMs: number): Promise<void> {
    while (!this.stopping) {
      this.nextStepAsked = false;
      // A stop that came during the step ends the loop now: no pause to wait out first.
      if (!(await this.step()) && !this.stopping && !this.nextStepAsked) await this.pause(pauseMs);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

/** How a {@link RepeatedFailureLog} writes its lines. */
export interface FailureLines<F> {
  /** Logs `failure` in full: the first of its kind, or the first after its kind went quiet. */
  first(failure: F): void;
  /** Logs that `count` more failures of the kind of `latest` (the last of them) came within `ms` ms. */
  again(latest: F, count: number, ms: number): void;
}

/** A kind's failures since its last line. */
interface KindState<F> {
  /** Epoch ms of the kind's last line. */
  since: number;
  /** Failures of the kind since that line. */
  count: number;
  latest: F;
}

/**
 * Logs the first failure of each kind in full, then, while failures of that kind go on, one line
 * at most every `intervalMs` with how many came since: a failure that never changes (a lock or a
 * node that stays unreachable) must not look like a loop that went quiet, and a storm of them (an
 * outage under load) must not write a line each. A kind is `kindOf(failure)`, by default the
 * failure's text; a kind that saw no failure for a whole interval is forgotten, its next failure
 * logged in full again. Without a timer of its own: a summary is written by the next failure
 * after its interval, or by `flush` (the api's exception filter calls it every few seconds, so the
 * last count of an outage is not held back until the next one).
 *
 * `new RepeatedFailureLog(warn)`: failures are strings, their repeats said as
 * "<failure> (again, N times in S s)", every 30 s (a worker's loop).
 */
export class RepeatedFailureLog<F = string> {
  /** How often, in ms, an unchanged failure is logged again by default. */
  static readonly REPEAT_WARN_INTERVAL_MS = 30_000;
  private readonly lines: FailureLines<F>;
  private readonly kinds = new Map<string, KindState<F>>();
  private readonly intervalMs: number;
  private readonly kindOf: (failure: F) => string;

  /**
   * `lines`: a function given each line's text (failures are then strings), or the two lines'
   * writers; `now` answers epoch ms (tests pass their own); `intervalMs`: the least time between
   * two lines of a kind (REPEAT_WARN_INTERVAL_MS unless given).
   */
  constructor(
    lines: FailureLines<F> | ((message: string) => void),
    private readonly now: () => number = Date.now,
    options: { intervalMs?: number; kindOf?: (failure: F) => string } = {},
  ) {
    this.lines =
      typeof lines === 'function'
        ? {
            first: (failure) => lines(String(failure)),
            again: (latest, count, ms) =>
              lines(`${String(latest)} (again, ${count} times in ${Math.round(ms / 1000)} s)`),
          }
        : lines;
    this.intervalMs = options.intervalMs ?? RepeatedFailureLog.REPEAT_WARN_INTERVAL_MS;
    this.kindOf = options.kindOf ?? String;
  }

  /** Counts `failure` in its kind: logged in full if the kind is new (or went quiet), else summed up later. */
  failed(failure: F): void {
    const now = this.now();
    const kind = this.kindOf(failure);
    const state = this.kinds.get(kind);
    if (state && (state.count > 0 || now - state.since < this.intervalMs)) {
      state.count += 1;
      state.latest = failure;
    } else {
      this.kinds.set(kind, { since: now, count: 0, latest: failure });
      this.lines.first(failure);
    }
    this.flush();
  }

  /**
   * Writes the summary of every kind whose interval has passed since its last line (`all`: of
   * every kind with failures not yet said, as a process stops), and forgets the kinds that saw no
   * failure in a whole interval. Answers whether a kind is still remembered (a later `flush` may
   * have something to write).
   */
  flush(all = false): boolean {
    const now = this.now();
    for (const [kind, state] of this.kinds) {
      const due = now - state.since >= this.intervalMs;
      if (state.count > 0 && (due || all)) {
        this.lines.again(state.latest, state.count, now - state.since);
        state.since = now;
        state.count = 0;
      } else if (due) {
        this.kinds.delete(kind);
      }
    }
    return this.kinds.size > 0;
  }

  /** The work succeeded: every kind is forgotten; `onRecovery` is called if one was failing. */
  succeeded(onRecovery?: () => void): void {
    if (this.kinds.size > 0 && onRecovery) onRecovery();
    this.kinds.clear();
  }
}
