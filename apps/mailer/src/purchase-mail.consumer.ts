import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AmqpConnection, parsePurchaseMailMessage, RetryingConsumer, RetryPolicy, Topology } from '@app/messaging';
import { DeliveryOutcome, PurchaseMailService } from '@app/ticketing';

/** Unacknowledged messages the mailer works on at once (each holds a database connection while it sends). */
export const MAILER_PREFETCH = 8;

/**
 * Feeds the purchase-mail queue to {@link PurchaseMailService}: purchase-completed messages (the
 * confirmation) and purchase-canceled ones (the cancellation notice); retries and dead-letters
 * through the broker.
 */
@Injectable()
export class PurchaseMailConsumer implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PurchaseMailConsumer.name);
  private consumer?: RetryingConsumer;
  /**
   * What became of each purchase e-mail message: a delivery outcome, or `retried` / `failed`
   * (parked in the dead-letter queue) when sending threw; in no registry until a process adds it.
   */
  readonly deliveries = new Counter({
    name: 'boxoffice_mail_deliveries_total',
    help: 'Purchase e-mail messages handled, by outcome (sent, already-sent, canceled, not-confirmed, uncertain, retried, failed)',
    labelNames: ['outcome'] as const,
    registers: [],
  });

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly topology: Topology,
    private readonly policy: RetryPolicy,
    private readonly mail: PurchaseMailService,
  ) {
    for (const outcome of [...Object.keys(DELIVERY_LOG), 'retried', 'failed']) this.deliveries.inc({ outcome }, 0);
  }

  async start(prefetch = MAILER_PREFETCH): Promise<void> {
    if (this.consumer) return;
    this.consumer = new RetryingConsumer(
      this.amqp,
      this.policy,
      {
        ...this.topology.purchaseCompletedConsumer,
        prefetch,
        onFailure: (fate) => this.deliveries.inc({ outcome: fate === 'retried' ? 'retried' : 'failed' }),
      },
      async (message) => {
        const parsed = parsePurchaseMailMessage(message.content);
        const outcome =
          parsed.kind === 'canceled'
            ? await this.mail.deliverCancellation(parsed.message)
            : await this.mail.deliver(parsed.message);
        this.deliveries.inc({ outcome });
        this.logger.log(
          DELIVERY_LOG[outcome](`${parsed.kind === 'canceled' ? 'cancellation of ' : ''}${parsed.message.purchaseId}`),
        );
      },
    );
    await this.consumer.start();
  }

  /** Stops taking messages and lets the ones in hand finish. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.stop();
  }

  /** Before the database and broker connections close, so in-flight e-mails can finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}

const DELIVERY_LOG: Record<DeliveryOutcome, (purchaseId: string) => string> = {
  sent: (id) => `e-mail sent for purchase ${id}`,
  'already-sent': (id) => `e-mail for purchase ${id} was already sent; nothing to do`,
  canceled: (id) => `purchase ${id} was canceled before its confirmation went out; no confirmation sent`,
  'not-confirmed': (id) => `purchase ${id} was never confirmed; no cancellation notice sent`,
  uncertain: (id) =>
    `e-mail for purchase ${id} reached the SMTP server unanswered; not sent again (email_deliveries.uncertain)`,
};
