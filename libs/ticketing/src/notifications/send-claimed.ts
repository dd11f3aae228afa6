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
}

/** Each delivery transaction still running: the one message it may claim, and the e-mails it handed over. */
const DELIVERIES = new WeakMap<Transaction, { messageId: string; handedOver: HandedOver[] }>();

/**
 * The deliveries of this process not finished yet, by message id, each settling when its delivery
 * ended (committed, its lost row written again, or failed). A copy of a message handled meanwhile
 * (redelivered after a broker reconnection, published again by the outbox relay when PostgreSQL
 * ended its transaction too) waits for it before it opens a transaction, and then finds the row:
 * it neither claims the message a lost transaction freed (while its e-mail was at the server, or
 * after) and sends it again, nor holds a pool connection while it waits (the wait lasts as long as
 * the first copy's SMTP exchange, or its recording while PostgreSQL is down: seconds to minutes).
 */
const IN_PROGRESS = new Map<string, Promise<void>>();

/** The first and the longest pause (ms) between tries to record an e-mail whose transaction was lost. */
const RECORD_RETRY_FIRST_MS = 200;
const RECORD_RETRY_MAX_MS = 2_000;

const logger = new Logger('MailDelivery');

/**
 * Runs `work` in one transaction in which it may claim and send the e-mail of message `messageId`
 * with {@link sendClaimed} (every caller of sendClaimed runs in one), and commits it. A delivery of
 * the same message already under way in this process is waited for first, outside any transaction
 * (no pool connection held meanwhile): the copy then finds its row, or claims it as usual.
 *
 * When the transaction fails after the mail server took an e-mail of it (PostgreSQL restarted or
 * ended the connection between the server's answer and the commit: the recording statement, or the
 * COMMIT itself, fails), the e-mail went out but its claim rolled back: redelivered as it is, the
 * message would be sent a second time. Instead the delivery row is written again, as
 * sendClaimed would have completed it, in a transaction of its own, tried again every 0.2-2 s while
 * PostgreSQL cannot answer (DatabaseUnavailableError), and the outcome the e-mail had (`sent`, or
 * `uncertain`) is answered: the message is settled, never retried. A copy of the message this
 * process takes meanwhile (the outbox relay, cut off too, publishes it again) waits for that row
 * before it opens its transaction, and sends nothing. Only this process knows the e-mail went out,
 * so the window left is this process ending (killed, crashed) before that row is written, or another mailer
 * process taking a copy meanwhile. Any other failure, and any failure before the server took the e-mail, is thrown
 * as it is: the rollback frees the claim and the message is tried again.
 */
export async function deliverInTransaction<T>(
  deps: { transactions: TransactionRunner; deliveries: EmailDeliveriesRepository },
  messageId: string,
  work: (manager: Transaction) => Promise<T>,
): Promise<T | 'sent' | 'uncertain'> {
  // Synchronous from the last look to the set: no two copies of this process start at once.
  for (let earlier = IN_PROGRESS.get(messageId); earlier; earlier = IN_PROGRESS.get(messageId)) await earlier;
  const delivery = (async () => {
    try {
      return await deliverOnce(deps, messageId, work);
    } finally {
      IN_PROGRESS.delete(messageId);
    }
  })();
  IN_PROGRESS.set(
    messageId,
    delivery.then(
      () => undefined,
      () => undefined,
    ),
  );
  return delivery;
}

/** {@link deliverInTransaction} once no other copy of the message is in progress here. */
async function deliverOnce<T>(
  deps: { transactions: TransactionRunner; deliveries: EmailDeliveriesRepository },
  messageId: string,
  work: (manager: Transaction) => Promise<T>,
): Promise<T | 'sent' | 'uncertain'> {
  let handedOver: HandedOver[] = [];
  let result: T;
  try {
    result = await deps.transactions.run((manager) => {
      DELIVERIES.set(manager, { messageId, handedOver: (handedOver = []) });
      return work(manager);
    });
  } catch (error) {
    if (handedOver.length === 0) throw error;
    for (const email of handedOver) await recordHandedOver(deps, email, error);
    return handedOver[handedOver.length - 1].outcome;
  }
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
 * Whether `address` is under the reserved top-level domain `invalid` (RFC 6761 §6.4: such names
 * never resolve), as a deleted account's address is (`deleted-<id>@invalid`): nothing can be
 * delivered there, and the mail server would refuse it on every try.
 */
export function undeliverableAddress(address: string): boolean {
  const domain = address
    .slice(address.lastIndexOf('@') + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  return domain === 'invalid' || domain.endsWith('.invalid');
}

/**
 * Claims message `claim.messageId` in the caller's transaction (`already-sent` when it was claimed
 * before, nothing sent), then sends the e-mail `email` renders (only once the claim is held) and
 * completes the claim: `sent` with the server's message id, or `uncertain` when the whole e-mail
 * reached the server unanswered (kept, so it is never sent twice). Any other failure of the send is
 * thrown, and the caller's rollback frees the claim for another try. The `Message-ID` header is
 * derived from the message id, the same on every try. Runs inside {@link deliverInTransaction},
 * which keeps an e-mail the server took from going out again when the transaction is lost after it.
 * An e-mail to an address nothing can be delivered to (`undeliverableAddress`: a deleted account's,
 * read when the message is handled) is neither claimed nor sent: `no-recipient`.
 */
export async function sendClaimed(
  deps: { mailer: Mailer; deliveries: EmailDeliveriesRepository; mailFrom: string },
  manager: Transaction,
  claim: DeliveryClaim,
  email: () => Promise<Omit<OutgoingEmail, 'messageIdHeader'>> | Omit<OutgoingEmail, 'messageIdHeader'>,
): Promise<'sent' | 'uncertain' | 'already-sent' | 'no-recipient'> {
  const delivery = DELIVERIES.get(manager);
  if (!delivery) throw new Error('sendClaimed runs only in a transaction of deliverInTransaction');
  const { messageId } = claim;
  // deliverInTransaction keeps copies of its message apart, not of others.
  if (messageId !== delivery.messageId) {
    throw new Error(`sendClaimed claims ${messageId} in the delivery of ${delivery.messageId}`);
  }
  if (undeliverableAddress(claim.recipient)) return 'no-recipient';
  if (!(await deps.deliveries.claim(manager, claim))) return 'already-sent';
  let smtpMessageId: string | null;
  try {
    ({ smtpMessageId } = await deps.mailer.send({
      ...(await email()),
      messageIdHeader: `<${messageId.replace(':', '.')}@${senderDomain(deps.mailFrom)}>`,
    }));
  } catch (error) {
    // Probably delivered: keep the claim rather than risk a second copy.
    if (!(error instanceof MailMaybeSentError)) throw error;
    delivery.handedOver.push({ claim, smtpMessageId: null, outcome: 'uncertain' });
    await deps.deliveries.recordUncertain(manager, messageId);
    return 'uncertain';
  }
  delivery.handedOver.push({ claim, smtpMessageId, outcome: 'sent' });
  await deps.deliveries.recordSent(manager, messageId, smtpMessageId);
  return 'sent';
}

function senderDomain(from: string): string {
  return /@([^>\s]+)/.exec(from)?.[1] ?? 'boxoffice.local';
}
