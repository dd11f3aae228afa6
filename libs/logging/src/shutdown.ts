import { LoggerService } from '@nestjs/common';

interface Closable {
  close(): Promise<void>;
}

/**
 * Waits for SIGTERM or SIGINT, then closes the application: the HTTP server stops accepting
 * and finishes in-flight requests, workers finish their current step, connections close.
 */
export function runUntilSignal(app: Closable, logger: LoggerService, graceMs = 15_000): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      // A second signal (Ctrl-C reaches the whole process group while `npm start` forwards a
      // SIGTERM too) must not kill the process half-way through its shutdown.
      if (stopping) return;
      stopping = true;
      logger.log(`${signal} received, shutting down`, 'Main');
      const force = setTimeout(() => {
        logger.error(`shutdown took longer than ${graceMs} ms, exiting`, undefined, 'Main');
        process.exit(1);
      }, graceMs);
      force.unref();
      app
        .close()
        .then(() => {
          logger.log('stopped cleanly', 'Main');
          resolve();
          // Give the log transports a moment to write their last lines.
          setTimeout(() => process.exit(0), 200).unref();
        })
        .catch((error: unknown) => {
          logger.error(`shutdown failed: ${String(error)}`, undefined, 'Main');
          process.exit(1);
        });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
