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

/**
 * Logs a failure when its message changes, and while the same failure persists, again at most
 * every REPEAT_WARN_INTERVAL_MS with how often it recurred since: a failure that never changes
 * (a lock or a node that stays unreachable) must not look like a loop that went quiet.
 */
export class RepeatedFailureLog {
  /** How often, in ms, an unchanged failure is logged again. */
  static readonly REPEAT_WARN_INTERVAL_MS = 30_000;
  private last = '';
  /** Epoch ms of the last warning. */
  private warnedAt = 0;
  /** Failures with message `last` since the last warning. */
  private repeats = 0;

  /** `now` answers epoch ms (tests pass their own). */
  constructor(
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  failed(message: string): void {
    const now = this.now();
    if (message !== this.last) {
      this.warn(message);
      this.warnedAt = now;
      this.repeats = 0;
    } else {
      this.repeats += 1;
      if (now - this.warnedAt >= RepeatedFailureLog.REPEAT_WARN_INTERVAL_MS) {
        this.warn(`${message} (again, ${this.repeats} times in ${Math.round((now - this.warnedAt) / 1000)} s)`);
        this.warnedAt = now;
        this.repeats = 0;
      }
    }
    this.last = message;
  }

  succeeded(onRecovery?: () => void): void {
    if (this.last && onRecovery) onRecovery();
    this.last = '';
  }
}
