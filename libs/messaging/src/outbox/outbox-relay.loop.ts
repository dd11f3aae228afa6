import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AmqpConnection } from '../amqp.connection';
import { OutboxRelay } from './outbox-relay';

/**
 * Runs the relay again and again: at once while it finds a full batch, else after a pause.
 * While RabbitMQ is unreachable it publishes nothing (the rows wait in PostgreSQL) and says so
 * once; when the connection is back it catches up.
 */
@Injectable()
export class OutboxRelayLoop implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayLoop.name);
  private running?: Promise<void>;
  private stopping = false;
  private wake?: () => void;

  constructor(
    private readonly relay: OutboxRelay,
    private readonly amqp: AmqpConnection,
  ) {}

  start(pauseMs = 200, batchSize = 200): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.run(pauseMs, batchSize);
  }

  /** Resolves once the pass in progress, if any, has finished (committed or rolled back). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  /** Before the connections close, so the last pass can still commit. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private async run(pauseMs: number, batchSize: number): Promise<void> {
    let lastProblem = '';
    const report = (problem: string) => {
      // While a server is down every pass fails the same way: say it once.
      if (problem && problem !== lastProblem) this.logger.warn(`outbox relay: ${problem}`);
      if (!problem && lastProblem) this.logger.log('outbox relay: publishing again');
      lastProblem = problem;
    };
    while (!this.stopping) {
      let fullBatch = false;
      if (!this.amqp.isConnected()) {
        report('RabbitMQ is unreachable; outbox messages wait in PostgreSQL');
      } else {
        try {
          const result = await this.relay.relayOnce(batchSize);
          report(result.failed > 0 ? `${result.failed} messages not confirmed (${result.error})` : '');
          fullBatch = result.failed === 0 && result.published === batchSize;
        } catch (error) {
          report(`pass failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (!fullBatch) await this.pause(pauseMs);
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
