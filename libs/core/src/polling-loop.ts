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

  /** One unit of work; resolves `true` when more is waiting. Must not throw. */
  protected abstract step(): Promise<boolean>;

  protected startLoop(pauseMs: number): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.run(pauseMs);
  }

  /** Resolves once the step in progress, if any, has finished. */
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
      if (!(await this.step())) await this.pause(pauseMs);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Logs a repeated failure once, and nothing while it keeps failing the same way. */
export class RepeatedFailureLog {
  private last = '';

  constructor(private readonly warn: (message: string) => void) {}

  failed(message: string): void {
    if (message !== this.last) this.warn(message);
    this.last = message;
  }

  succeeded(onRecovery?: () => void): void {
    if (this.last && onRecovery) onRecovery();
    this.last = '';
  }
}
