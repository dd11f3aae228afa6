import { LoggerService } from '@nestjs/common';

/**
 * How long a clean shutdown may take, in milliseconds, before the process gives up and exits 1.
 * A supervisor's grace before its SIGKILL must be longer (Compose: `stop_grace_period`).
 */
export const SHUTDOWN_GRACE_MS = 15_000;

interface Closable {
  close(): Promise<void>;
}

/**
 * Turns SIGTERM and SIGINT into a clean shutdown: the HTTP server stops accepting and finishes
 * in-flight requests, workers finish their current step, connections close, and the process
 * exits 0 (1 when closing fails or takes longer than `graceMs`, in milliseconds).
 *
 * Listen first thing in `main`, before the app starts: a signal that arrives while the app is
 * still starting (or right after it said it started) is remembered, and the app is closed as
 * soon as it is handed over with `closeOnSignal`, instead of the signal's default action killing
 * the process.
 */
export class ShutdownSignals {
  private signal?: NodeJS.Signals;
  private app?: Closable;
  private stopped?: () => void;
  private readonly done = new Promise<void>((resolve) => (this.stopped = resolve));

  private constructor(
    private readonly logger: LoggerService,
    private readonly graceMs: number,
  ) {}

  /** Starts listening for SIGTERM and SIGINT. */
  static listen(logger: LoggerService, graceMs = SHUTDOWN_GRACE_MS): ShutdownSignals {
    const signals = new ShutdownSignals(logger, graceMs);
    const received = (signal: NodeJS.Signals) => signals.received(signal);
    process.on('SIGTERM', received);
    process.on('SIGINT', received);
    return signals;
  }

  /**
   * Closes `app` on the first signal (at once if one came already), then each of `after` (a
   * metrics server, say, which should answer until the app is down); resolves once all closed.
   */
  closeOnSignal(app: Closable, ...after: (Closable | undefined)[]): Promise<void> {
    const all: Closable = {
      close: async () => {
        await app.close();
        for (const closable of after) await closable?.close();
      },
    };
    this.app = all;
    if (this.signal) this.close(all);
    return this.done;
  }

  private received(signal: NodeJS.Signals): void {
    // A second signal (Ctrl-C reaches the whole process group while `npm start` forwards a
    // SIGTERM too) must not kill the process half-way through its shutdown.
    if (this.signal) return;
    this.signal = signal;
    this.logger.log(`${signal} received, shutting down`, 'Main');
    const force = setTimeout(() => {
      this.logger.error(`shutdown took longer than ${this.graceMs} ms, exiting`, undefined, 'Main');
      process.exit(1);
    }, this.graceMs);
    force.unref();
    if (this.app) this.close(this.app);
  }

  private close(app: Closable): void {
    app
      .close()
      .then(() => {
        this.logger.log('stopped cleanly', 'Main');
        this.stopped?.();
        // Give the log transports a moment to write their last lines.
        setTimeout(() => process.exit(0), 200).unref();
      })
      .catch((error: unknown) => {
        this.logger.error(`shutdown failed: ${String(error)}`, undefined, 'Main');
        process.exit(1);
      });
  }
}
