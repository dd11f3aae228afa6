import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AmqpConnection, MailMessage, parseMailMessage, RetryingConsumer, RetryPolicy, Topology } from '@app/messaging';
import { DeliveryOutcome, PasswordResetMailService, PurchaseMailService } from '@app/ticketing';

/** Unacknowledged messages the mailer works on at once (each holds a database connection while it sends). */
export const MAILER_PREFETCH = 8;

/**
 * Feeds the mail queue to {@link PurchaseMailService}: purchase-completed messages (the
 * confirmation), purchase-canceled ones (the cancellation notice) and purchase-rescheduled ones
 * (the notice that the performance moved); and password-reset messages
 * to {@link PasswordResetMailService}. Retries and dead-letters through the broker.
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
    help: 'E-mail messages handled, by outcome (sent, already-sent, canceled, not-confirmed, superseded, stale, uncertain, retried, failed)',
    labelNames: ['outcome'] as const,
    registers: [],
  });

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly topology: Topology,
    private readonly policy: RetryPolicy,
    private readonly mail: PurchaseMailService,
    private readonly resetMail: PasswordResetMailService,
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
        const parsed = parseMailMessage(message.content);
        const outcome = await this.deliver(parsed);
        this.deliveries.inc({ outcome });
        this.logger.log(DELIVERY_LOG[outcome](subjectOf(parsed)));
      },
    );
    await this.consumer.start();
  }

  private deliver(parsed: MailMessage): Promise<Outcome> {
    switch (parsed.kind) {
      case 'completed':
        return this.mail.deliver(parsed.message);
      case 'canceled':
        return this.mail.deliverCancellation(parsed.message);
      case 'rescheduled':
        return this.mail.deliverReschedule(parsed.message);
      case 'password-reset':
        return this.resetMail.deliver(parsed.message);
    }
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

/** What became of one message: a purchase mail's outcome, or `stale` (a password reset no longer live). */
type Outcome = DeliveryOutcome | 'stale';

/**
 * What a log line calls a message's e-mail: `purchase <id>`, `cancellation of purchase <id>`,
 * `new date (move <id>) of purchase <id>`, `password reset <id>`.
 */
function subjectOf(parsed: MailMessage): string {
  switch (parsed.kind) {
    case 'completed':
      return `purchase ${parsed.message.purchaseId}`;
    case 'canceled':
      return `cancellation of purchase ${parsed.message.purchaseId}`;
    case 'rescheduled':
      return `new date (move ${parsed.message.rescheduleId}) of purchase ${parsed.message.purchaseId}`;
    case 'password-reset':
      return `password reset ${parsed.message.resetId}`;
  }
}

const DELIVERY_LOG: Record<Outcome, (subject: string) => string> = {
  sent: (what) => `e-mail sent for ${what}`,
  'already-sent': (what) => `e-mail for ${what} was already sent; nothing to do`,
  canceled: (what) => `${what} was canceled before its confirmation went out; no confirmation sent`,
  'not-confirmed': (what) => `${what}: the purchase was never confirmed; no notice sent`,
  superseded: (what) =>
    `${what}: not needed (the buyer was told the current start already, or the purchase or its performance was canceled); not sent`,
  stale: (what) => `${what} was used, replaced or expired before its e-mail went out; nothing sent`,
  uncertain: (what) =>
    `e-mail for ${what} reached the SMTP server unanswered; not sent again (email_deliveries.uncertain)`,
};
