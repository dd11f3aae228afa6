import type { PurchaseReceipt } from '@app/database';
import { escapeHtml, factsEmail, RenderedEmail } from './email-layout';
import { formatAmount, formatSeat, formatStartTime } from './purchase-email.template';

/**
 * The notice that follows a confirmation when the purchase is canceled or refunded: which
 * purchase, its event, venue and start (on the venue's wall clock), its seats and amount, when it was canceled, and that its tickets no longer admit anyone.
 * `calledOff`: the purchase was canceled because its performance was (the bulk refund canceled
 * it); then it says so, with the operator's reason when one was given. `confirmed` false: no
 * confirmation went out (the performance was canceled first), so the notice speaks of no QR codes.
 * `byBoxOffice`: an operator refunded it (not the buyer's own cancel), and the notice says so.
 * A free purchase (amount 0) was never charged: its notice says there is nothing to refund, and
 * shows no refund.
 */
export function renderCancellationEmail(
  receipt: PurchaseReceipt,
  canceledAt: Date,
  {
    confirmed,
    calledOff: byCalledOff,
    byBoxOffice = false,
  }: { confirmed: boolean; calledOff: boolean; byBoxOffice?: boolean } = {
    confirmed: true,
    calledOff: false,
  },
): RenderedEmail {
  const when = formatStartTime(receipt.performanceStartsAt, receipt.timeZone);
  const free = receipt.amount === 0;
  const refunded = free ? '. It was free, so there is nothing to refund.' : ' and its amount refunded.';
  const canceled = formatStartTime(canceledAt, receipt.timeZone);
  const seats = receipt.seats.map(formatSeat);
  const called = byCalledOff ? receipt.performanceCancellation : null;
  const calledOff = called ? `The performance was canceled${called.reason ? `: ${called.reason}` : '.'}` : null;
  const canceledBy = byBoxOffice && !called ? ' by the box office' : '';

  const voided = confirmed
    ? 'Its tickets no longer admit anyone: the QR codes of the confirmation are void.'
    : 'No tickets will be issued for it.';
  return factsEmail({
    subject: `Canceled: your tickets for ${receipt.eventTitle}`,
    name: receipt.buyerName,
    intro: {
      text: [
        `your purchase for ${receipt.eventTitle} was canceled${canceledBy}${refunded}`,
        voided,
        ...(calledOff ? ['', calledOff] : []),
      ],
      html: `<p>your purchase for <strong>${escapeHtml(receipt.eventTitle)}</strong> was canceled${canceledBy}${refunded}
${voided}</p>${calledOff ? `\n<p style="white-space: pre-line">${escapeHtml(calledOff)}</p>` : ''}`,
    },
    facts: [
      { label: 'Event', value: receipt.eventTitle },
      { label: 'Venue', value: receipt.venue },
      { label: 'When', value: when },
      { label: 'Seats', value: seats },
      free
        ? { label: 'Amount', value: 'Free, nothing charged' }
        : { label: 'Refund', value: formatAmount(receipt.amount, receipt.currency) },
      { label: 'Canceled', value: canceled },
      { label: 'Purchase', value: receipt.purchaseId, code: true },
    ],
  });
}
