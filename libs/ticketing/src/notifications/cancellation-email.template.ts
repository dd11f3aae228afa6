import type { PurchaseReceipt } from '@app/database';
import { escapeHtml, formatAmount, formatSeat, formatStartTime, RenderedEmail } from './purchase-email.template';

/**
 * The notice that follows a confirmation when the purchase is canceled or refunded: which
 * purchase, its event, venue and start (on the venue's wall clock), its seats and amount, when it was canceled, and that its tickets no longer admit anyone.
 * `calledOff`: the purchase was canceled because its performance was (the bulk refund canceled
 * it); then it says so, with the operator's reason when one was given. `confirmed` false: no
 * confirmation went out (the performance was canceled first), so the notice speaks of no QR codes.
 * `byBoxOffice`: an operator refunded it (not the buyer's own cancel), and the notice says so.
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
  const amount = formatAmount(receipt.amount, receipt.currency);
  const canceled = formatStartTime(canceledAt, receipt.timeZone);
  const seats = receipt.seats.map(formatSeat);
  const subject = `Canceled: your tickets for ${receipt.eventTitle}`;
  const called = byCalledOff ? receipt.performanceCancellation : null;
  const calledOff = called ? `The performance was canceled${called.reason ? `: ${called.reason}` : '.'}` : null;
  const canceledBy = byBoxOffice && !called ? ' by the box office' : '';

  const text = [
    `Hello ${receipt.buyerName},`,
    '',
    `your purchase for ${receipt.eventTitle} was canceled${canceledBy} and its amount refunded.`,
    confirmed
      ? 'Its tickets no longer admit anyone: the QR codes of the confirmation are void.'
      : 'No tickets will be issued for it.',
    ...(calledOff ? ['', calledOff] : []),
    '',
    `Event:     ${receipt.eventTitle}`,
    `Venue:     ${receipt.venue}`,
    `When:      ${when}`,
    `Seats:     ${seats.join('; ')}`,
    `Refund:    ${amount}`,
    `Canceled:  ${canceled}`,
    `Purchase:  ${receipt.purchaseId}`,
    '',
    'boxoffice',
    '',
  ].join('\n');

  const seatItems = seats.map((seat) => `<li>${escapeHtml(seat)}</li>`).join('');
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>Hello ${escapeHtml(receipt.buyerName)},</p>
<p>your purchase for <strong>${escapeHtml(receipt.eventTitle)}</strong> was canceled${canceledBy} and its amount refunded.
${confirmed ? 'Its tickets no longer admit anyone: the QR codes of the confirmation are void.' : 'No tickets will be issued for it.'}</p>
${calledOff ? `<p style="white-space: pre-line">${escapeHtml(calledOff)}</p>\n` : ''}<table cellpadding="4">
<tr><th align="left">Event</th><td>${escapeHtml(receipt.eventTitle)}</td></tr>
<tr><th align="left">Venue</th><td>${escapeHtml(receipt.venue)}</td></tr>
<tr><th align="left">When</th><td>${escapeHtml(when)}</td></tr>
<tr><th align="left">Seats</th><td><ul>${seatItems}</ul></td></tr>
<tr><th align="left">Refund</th><td>${escapeHtml(amount)}</td></tr>
<tr><th align="left">Canceled</th><td>${escapeHtml(canceled)}</td></tr>
<tr><th align="left">Purchase</th><td><code>${escapeHtml(receipt.purchaseId)}</code></td></tr>
</table>
<p>boxoffice</p>
</body>
</html>
`;
  return { subject, text, html };
}
