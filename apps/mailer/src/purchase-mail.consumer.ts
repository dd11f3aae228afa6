import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { Counter, Gauge } from 'prom-client';
import { Env, MAILER_PREFETCH } from '@app/config';
import {
  AmqpConnection,
  MailMessage,
  MailQueues,
  parseMailMessage,
  RetryingConsumer,
  RetryPolicy,
  Topology,
} from '@app/messaging';
import {
  AccountNoticeMailService,
  AccountNoticeOutcome,
  PaymentRefundedMailService,
  PaymentRefundedOutcome,
  DeliveryOutcome,
  EmailChangeMailService,
  EmailVerificationMailService,
  MailStream,
  PasswordResetMailService,
  PurchaseMailService,
  TicketTransferMailService,
  TokenMailOutcome,
  TransferMailOutcome,
} from '@app/ticketing';

/**
 * The mail queues a mailer consumes, as its metrics name them; each sends through the Mailer's
 * stream of the same name (SmtpMailer: SMTP_URL, and SMTP_BULK_URL when set).
 */
export type MailQueueName = MailStream;

/**
 * Feeds the two mail queues to {@link PurchaseMailService}: purchase-completed messages (the
 * confirmation), purchase-canceled ones (the cancellation notice) and purchase-rescheduled ones
 * (the notice that the performance moved); password-reset messages to
 * {@link PasswordResetMailService}, e-mail-verification ones to {@link EmailVerificationMailService}, e-mail-change ones to {@link EmailChangeMailService}, account notices to {@link AccountNoticeMailService}, notices of a charge refunded because its purchase was lost to {@link PaymentRefundedMailService}, and ticket-transfer ones to {@link TicketTransferMailService}. Retries and dead-letters through the broker.
 *
 * Two consumers side by side, each on a channel of its own with its own prefetch: the urgent
 * queue (`<ns>.purchase-completed`: confirmations, a buyer's or an operator's cancellation,
 * password resets, addresses to confirm) with {@link MAILER_PREFETCH}, and the bulk queue (`<ns>.mail-bulk`: the notices
 * an operator's move or cancellation of a performance fans out to all its buyers) with
 * MAIL_BULK_PREFETCH. So a backlog of 50,000 bulk notices takes at most MAIL_BULK_PREFETCH of the
 * mailer's hands, and a confirmation queued after it waits for none of it. Both handle any mail
 * message alike (by its body's `type`): which queue a message came through changes nothing of
 * what is sent, which PurchaseMailService decides under the purchase's mail lock (P5), in
 * whatever order the two queues deliver a purchase's messages; it picks only the mail stream
 * (server and sender) it leaves by: a password reset always leaves by the urgent one.
 */
@Injectable()
export class PurchaseMailConsumer implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PurchaseMailConsumer.name);
  private consumers?: Record<MailQueueName, RetryingConsumer>;
  /** The stop in progress, if any: the consumers stay in {@link consumers} until it resolved. */
  private stopping?: Promise<void>;
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
  /** Messages each mail queue gave the mailer that it finished with (any outcome, a retry or a parking included). */
  readonly queueMessages = new Counter({
    name: 'boxoffice_mail_queue_messages_total',
    help: 'Mail queue messages handled, by queue (urgent, bulk), whatever became of them',
    labelNames: ['queue'] as const,
    registers: [],
  });
  /** Messages of each mail queue being handled now: the bulk queue's stay within MAIL_BULK_PREFETCH. */
  readonly queueInHand: Gauge<'queue'>;

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly topology: Topology,
    private readonly policy: RetryPolicy,
    private readonly mail: PurchaseMailService,
    private readonly resetMail: PasswordResetMailService,
    private readonly verificationMail: EmailVerificationMailService,
    private readonly changeMail: EmailChangeMailService,
    private readonly noticeMail: AccountNoticeMailService,
    private readonly refundNoticeMail: PaymentRefundedMailService,
    private readonly transferMail: TicketTransferMailService,
    private readonly env: Env,
  ) {
    for (const outcome of [...Object.keys(DELIVERY_LOG), 'retried', 'failed']) this.deliveries.inc({ outcome }, 0);
    for (const queue of MAIL_QUEUES) this.queueMessages.inc({ queue }, 0);
    const consumers = () => this.consumers;
    this.queueInHand = new Gauge({
      name: 'boxoffice_mail_queue_in_hand',
      help: 'Mail queue messages being handled now, by queue (urgent, bulk)',
      labelNames: ['queue'] as const,
      registers: [],
      collect() {
        for (const queue of MAIL_QUEUES) this.set({ queue }, consumers()?.[queue].inHand ?? 0);
      },
    });
  }

  /**
   * Starts consuming both mail queues: the urgent one with `prefetch`, the bulk one with
   * MAIL_BULK_PREFETCH. Does nothing while started, or while a {@link stop} is under way (call it
   * again once that stop resolved).
   */
  async start(prefetch = MAILER_PREFETCH): Promise<void> {
    if (this.consumers) return;
    this.consumers = {
      urgent: this.consumerOf('urgent', this.topology.purchaseCompletedConsumer, prefetch),
      bulk: this.consumerOf('bulk', this.topology.bulkMailConsumer, this.env.MAIL_BULK_PREFETCH),
    };
    await Promise.all(MAIL_QUEUES.map((queue) => this.consumers?.[queue].start()));
  }

  private consumerOf(name: MailQueueName, queues: MailQueues, prefetch: number): RetryingConsumer {
    return new RetryingConsumer(
      this.amqp,
      this.policy,
      {
        ...queues,
        prefetch,
        onFailure: (fate) => {
          this.deliveries.inc({ outcome: fate === 'retried' ? 'retried' : 'failed' });
          this.queueMessages.inc({ queue: name });
        },
      },
      (message) => this.handle(name, message),
    );
  }

  private async handle(queue: MailQueueName, message: ConsumeMessage): Promise<void> {
    const parsed = parseMailMessage(message.content);
    const outcome = await this.deliver(parsed, queue);
    this.deliveries.inc({ outcome });
    this.queueMessages.inc({ queue });
    this.logger.log({
      message: DELIVERY_LOG[outcome](subjectOf(parsed)),
      boxoffice: { mail: { kind: parsed.kind, outcome, purchase_id: purchaseIdOf(parsed) } },
    });
  }

  private deliver(parsed: MailMessage, queue: MailQueueName): Promise<Outcome> {
    switch (parsed.kind) {
      case 'completed':
        return this.mail.deliver(parsed.message, queue);
      case 'canceled':
        return this.mail.deliverCancellation(parsed.message, queue);
      case 'refunded':
        return this.mail.deliverPartialRefund(parsed.message, queue);
      case 'rescheduled':
        return this.mail.deliverReschedule(parsed.message, queue);
      case 'tickets-resent':
        return this.mail.deliverResend(parsed.message, queue);
      case 'password-reset':
        return this.resetMail.deliver(parsed.message);
      case 'email-verification':
        return this.verificationMail.deliver(parsed.message);
      case 'email-change':
        return this.changeMail.deliver(parsed.message);
      case 'account-notice':
        return this.noticeMail.deliver(parsed.message);
      case 'payment-refunded':
        return this.refundNoticeMail.deliver(parsed.message);
      case 'ticket-transfer':
        return this.transferMail.deliver(parsed.message, queue);
      case 'holder-rescheduled':
        return this.transferMail.deliverHolderReschedule(parsed.message, queue);
    }
  }

  /**
   * Stops taking messages from both queues and lets the ones in hand finish. The consumers are
   * forgotten only once both stopped, so {@link queueInHand} counts the e-mails still being sent
   * meanwhile; a second call while stopping waits for the same stop.
   */
  stop(): Promise<void> {
    const consumers = this.consumers;
    if (!consumers) return Promise.resolve();
    this.stopping ??= Promise.all(MAIL_QUEUES.map((queue) => consumers[queue].stop()))
      .then(() => undefined)
      .finally(() => {
        this.consumers = undefined;
        this.stopping = undefined;
      });
    return this.stopping;
  }

  /** Before the database and broker connections close, so in-flight e-mails can finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }
}

const MAIL_QUEUES: readonly MailQueueName[] = ['urgent', 'bulk'];

/**
 * What became of one message: a purchase mail's outcome, or a token or transfer mail's (`stale`: its
 * token no longer works, or what a transfer e-mail would say is gone).
 */
type Outcome = DeliveryOutcome | TokenMailOutcome | TransferMailOutcome | AccountNoticeOutcome | PaymentRefundedOutcome;

/**
 * What a log line calls a message's e-mail: `purchase <id>`, `cancellation of purchase <id>`,
 * `new date (move <id>) of purchase <id>`, `tickets of purchase <id> sent again (request <id>)`,
 * `password reset <id>`, `e-mail verification <id>`, `e-mail change <id>`, `account notice <id> (<event>)`, `refund notice of payment <id>`,
 * `new date (move <id>) to ticket holder <account id>`.
 */
function subjectOf(parsed: MailMessage): string {
  switch (parsed.kind) {
    case 'completed':
      return `purchase ${parsed.message.purchaseId}`;
    case 'canceled':
      return `cancellation of purchase ${parsed.message.purchaseId}`;
    case 'refunded':
      return `partial refund ${parsed.message.refundId} of purchase ${parsed.message.purchaseId}`;
    case 'rescheduled':
      return `new date (move ${parsed.message.rescheduleId}) of purchase ${parsed.message.purchaseId}`;
    case 'tickets-resent':
      return `tickets of purchase ${parsed.message.purchaseId} sent again (request ${parsed.message.resendId})`;
    case 'password-reset':
      return `password reset ${parsed.message.resetId}`;
    case 'email-verification':
      return `e-mail verification ${parsed.message.verificationId}`;
    case 'email-change':
      return `e-mail change ${parsed.message.changeId}`;
    case 'account-notice':
      return `account notice ${parsed.message.eventId} (${parsed.message.event})`;
    case 'payment-refunded':
      return `refund notice of payment ${parsed.message.purchaseId}`;
    case 'ticket-transfer':
      return parsed.message.event === 'rescheduled'
        ? `new date (move ${parsed.message.rescheduleId}) of ticket transfer ${parsed.message.transferId}`
        : `ticket transfer ${parsed.message.transferId} (${parsed.message.event})`;
    case 'holder-rescheduled':
      return `new date (move ${parsed.message.rescheduleId}) to ticket holder ${parsed.message.holderId}`;
  }
}

/**
 * The purchase a message is about, for the delivery line's `boxoffice.mail.purchase_id`: the key that
 * ties it to the api's access line of that purchase (`boxoffice.created`) and to `batch`'s lines.
 */
function purchaseIdOf(parsed: MailMessage): string | undefined {
  return 'purchaseId' in parsed.message ? parsed.message.purchaseId : undefined;
}

const DELIVERY_LOG: Record<Outcome, (subject: string) => string> = {
  sent: (what) => `e-mail sent for ${what}`,
  'already-sent': (what) => `e-mail for ${what} was already sent; nothing to do`,
  canceled: (what) => `${what} was canceled before its confirmation went out; no confirmation sent`,
  'not-confirmed': (what) =>
    `${what}: what it follows up was never sent (the purchase never confirmed, the transfer offer or the received ticket never mailed); no notice sent`,
  superseded: (what) =>
    `${what}: not needed (the buyer, the offer's recipient or the ticket's holder was told the current start already, or the purchase or its performance was canceled); not sent`,
  stale: (what) =>
    `${what} was used, replaced, withdrawn or expired before its e-mail went out (or its account is gone); nothing sent`,
  uncertain: (what) =>
    `e-mail for ${what} reached the SMTP server unanswered; not sent again (email_deliveries.uncertain)`,
  'no-recipient': (what) =>
    `e-mail for ${what} not sent: its address is under .invalid (a deleted account's), nothing can reach it`,
};
