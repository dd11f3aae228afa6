import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { DatabaseUnavailableError } from '@app/database';
import type { DeliveryClaim, EmailDeliveriesRepository, TransactionRunner } from '@app/database';
import { Mailer, MailMaybeSentError, OutgoingEmail } from './mailer.port';

/** The transaction a TransactionRunner hands its work (no persistence types in the rules). */
export type Transaction = Parameters<Parameters<TransactionRunner['run']>[0]>[0];

/** An e-mail the mail server took (answered, or `uncertain`: taken, its reply lost) within a delivery transaction. */
interface HandedOver {
  claim: DeliveryClaim;
  smtpMessageId: string | null;
  outcome: 'sent' | 'uncertain';
  /** Ends its entry of IN_HAND: its row is committed, or its recording gave up. */
  settle: () => void;
}

/** The e-mails handed over in each delivery transaction still running (see deliverInTransaction). */
const HANDED_OVER = new WeakMap<Transaction, HandedOver[]>();

/**
 * Message ids this process claimed and is sending, or handed to the server without its delivery
 * row committed yet, each with the moment that ends. A copy of the message redelivered meanwhile
 * (the outbox relay publishes again when PostgreSQL ended its transaction too) waits for it before
 * claiming, and then finds the row, instead of claiming the message a lost transaction freed
 * (while its e-mail was at the server, or after) and sending it again.
 */
const IN_HAND = new Map<string, Promise<void>>();

/** The first and the longest pause (ms) between tries to record an e-mail whose transaction was lost. */
const RECORD_RETRY_FIRST_MS = 200;
const RECORD_RETRY_MAX_MS = 2_000;

const logger = new Logger('MailDelivery');

/**
 * Runs `work` in one transaction in which it may claim and send e-mails with {@link sendClaimed}
 * (every caller of sendClaimed runs in one), and commits it.
 *
 * When the transaction fails after the mail server took an e-mail of it (PostgreSQL restarted or
 * ended the connection between the server's answer and the commit: the recording statement, or the
 * COMMIT itself, fails), the e-mail went out but its claim rolled back: redelivered as it is, the
 * message would be sent a second time. Instead the delivery row is written again, as
 * sendClaimed would have completed it, in a transaction of its own, tried again every 0.2-2 s while
 * PostgreSQL cannot answer (DatabaseUnavailableError), and the outcome the e-mail had (`sent`, or
 * `uncertain`) is answered: the message is settled, never retried. A copy of the message this
 * process takes meanwhile (the outbox relay, cut off too, publishes it again) waits for that row
 * before it claims, and sends nothing. Only this process knows the e-mail went out, so the window
 * left is this process ending (killed, crashed) before that row is written, or another mailer
 * process taking a copy meanwhile. Any other failure, and any failure before the server took the e-mail, is thrown
 * as it is: the rollback frees the claim and the message is tried again.
 */
export async function deliverInTransaction<T>(
  deps: { transactions: TransactionRunner; deliveries: EmailDeliveriesRepository },
  work: (manager: Transaction) => Promise<T>,
): Promise<T | 'sent' | 'uncertain'> {
  let handedOver: HandedOver[] = [];
  let result: T;
  try {
    result = await deps.transactions.run((manager) => {
      HANDED_OVER.set(manager, (handedOver = []));
      return work(manager);
    });
  } catch (error) {
    if (handedOver.length === 0) throw error;
    try {
      for (const email of handedOver) await recordHandedOver(deps, email, error);
    } finally {
      for (const email of handedOver) email.settle();
    }
    return handedOver[handedOver.length - 1].outcome;
  }
  for (const email of handedOver) email.settle();
  return result;
}

/** Writes the delivery row of `email`, whose transaction was lost (`lost`), while PostgreSQL cannot answer. */
async function recordHandedOver(
  deps: { transactions: TransactionRunner; deliveries: EmailDeliveriesRepository },
  email: HandedOver,
  lost: unknown,
): Promise<void> {
  logger.warn(
    `e-mail ${email.claim.messageId} was handed to the mail server but its delivery row was not committed ` +
      `(${lost instanceof Error ? lost.message : String(lost)}); recording it again, not sending it again`,
  );
  for (let pauseMs = RECORD_RETRY_FIRST_MS; ; pauseMs = Math.min(2 * pauseMs, RECORD_RETRY_MAX_MS)) {
    try {
      await deps.transactions.run((manager) =>
        deps.deliveries.recordHandedOver(manager, email.claim, email.smtpMessageId, email.outcome === 'uncertain'),
      );
      return;
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError)) throw error;
      await sleep(pauseMs);
    }
  }
}

/**
 * Claims message `claim.messageId` in the caller's transaction (`already-sent` when it was claimed
 * before, nothing sent), then sends the e-mail `email` renders (only once the claim is held) and
 * completes the claim: `sent` with the server's message id, or `uncertain` when the whole e-mail
 * reached the server unanswered (kept, so it is never sent twice). Any other failure of the send is
 * thrown, and the caller's rollback frees the claim for another try. The `Message-ID` header is
 * derived from the message id, the same on every try. Runs inside {@link deliverInTransaction},
 * which keeps an e-mail the server took from going out again when the transaction is lost after it.
 */
export async function sendClaimed(
  deps: { mailer: Mailer; deliveries: EmailDeliveriesRepository; mailFrom: string },
  manager: Transaction,
  claim: DeliveryClaim,
  email: () => Promise<Omit<OutgoingEmail, 'messageIdHeader'>> | Omit<OutgoingEmail, 'messageIdHeader'>,
): Promise<'sent' | 'uncertain' | 'already-sent'> {
  const handedOver = HANDED_OVER.get(manager);
  if (!handedOver) throw new Error('sendClaimed runs only in a transaction of deliverInTransaction');
  const { messageId } = claim;
  await IN_HAND.get(messageId);
  if (!(await deps.deliveries.claim(manager, claim))) return 'already-sent';
  const sending = inHand(claim.messageId);
  let smtpMessageId: string | null;
  try {
    ({ smtpMessageId } = await deps.mailer.send({
      ...(await email()),
      messageIdHeader: `<${messageId.replace(':', '.')}@${senderDomain(deps.mailFrom)}>`,
    }));
  } catch (error) {
    // Probably delivered: keep the claim rather than risk a second copy.
    if (!(error instanceof MailMaybeSentError)) {
      sending.settle();
      throw error;
    }
    handedOver.push({ claim, smtpMessageId: null, outcome: 'uncertain', settle: sending.settle });
    await deps.deliveries.recordUncertain(manager, messageId);
    return 'uncertain';
  }
  handedOver.push({ claim, smtpMessageId, outcome: 'sent', settle: sending.settle });
  await deps.deliveries.recordSent(manager, messageId, smtpMessageId);
  return 'sent';
}

/**
 * Enters message `messageId` in IN_HAND from its claim on (its e-mail about to go to the server)
 * until `settle`: at once when the send failed before the server took it, else once its row is
 * committed or its recording gave up (deliverInTransaction).
 */
function inHand(messageId: string): { settle: () => void } {
  let resolve!: () => void;
  const settled = new Promise<void>((done) => (resolve = done));
  IN_HAND.set(messageId, settled);
  return {
    settle: () => {
      if (IN_HAND.get(messageId) === settled) IN_HAND.delete(messageId);
      resolve();
    },
  };
}

function senderDomain(from: string): string {
  return /@([^>\s]+)/.exec(from)?.[1] ?? 'boxoffice.local';
}
