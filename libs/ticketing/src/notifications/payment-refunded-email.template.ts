import { escapeHtml, factsEmail, RenderedEmail } from './email-layout';
import { formatAmount, formatStartTime } from './purchase-email.template';

/** What the notice of a refunded charge whose purchase was lost says (every time in the venue's zone). */
export interface PaymentRefundedEmailInput {
  /** The payment attempt's (the purchase id the api answered, if it answered). */
  purchaseId: string;
  /** The buyer's name, as the other purchase e-mails greet them. */
  name: string;
  /** What was given back: an integer in minor units of `currency`. */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
  eventTitle: string;
  venue: string;
  /** IANA name of the venue's time zone. */
  timeZone: string;
  startsAt: Date;
  refundedAt: Date;
}

/**
 * The notice to a buyer whose payment `batch`'s reconciliation refunded because its purchase could
 * not be completed (it never happened, or it was lost after a `201`): the amount refunded, for which
 * event and performance (venue and start on the venue's wall clock), that no tickets were issued
 * (a QR code seen before is not valid), and when it was refunded, with the purchase id to quote.
 */
export function renderPaymentRefundedEmail(input: PaymentRefundedEmailInput): RenderedEmail {
  const amount = formatAmount(input.amount, input.currency);
  const when = formatStartTime(input.startsAt, input.timeZone);
  const what = `your payment of ${amount} for ${input.eventTitle} (${when}) could not be completed and has been refunded; no tickets were issued.`;
  const again =
    'The seats were not kept for you: to go, buy tickets again. The refund reaches your account as your bank or card issuer books it.';
  return factsEmail({
    subject: `Refunded: your payment for ${input.eventTitle}`,
    name: input.name,
    intro: {
      text: [what, again],
      html: `<p>your payment of <strong>${escapeHtml(amount)}</strong> for <strong>${escapeHtml(input.eventTitle)}</strong> (${escapeHtml(when)}) could not be completed and has been refunded; no tickets were issued.
${escapeHtml(again)}</p>`,
    },
    facts: [
      { label: 'Event', value: input.eventTitle },
      { label: 'Venue', value: input.venue },
      { label: 'When', value: when },
      { label: 'Refund', value: amount },
      { label: 'Refunded', value: formatStartTime(input.refundedAt, input.timeZone) },
      { label: 'Purchase', value: input.purchaseId, code: true },
    ],
  });
}
