import type { PurchaseReceipt } from '@app/database';
import { escapeHtml, formatSeat, formatStartTime, RenderedEmail } from './purchase-email.template';

/**
 * The notice to a confirmed purchase's buyer that its performance moved: the new start (the
 * receipt's `performanceStartsAt`, as PostgreSQL has it when the notice is sent) and the one the
 * buyer was last told (`previousStartsAt`), both on the venue's wall clock; that the tickets
 * and their QR codes stay valid for the new time; and, while the buyer's cancellation window is
 * still open at `now` and no ticket of the purchase was checked in (its cancel is refused then),
 * until when they may cancel for a refund.
 */
export function renderRescheduleEmail(receipt: PurchaseReceipt, previousStartsAt: Date, now: Date): RenderedEmail {
  const when = formatStartTime(receipt.performanceStartsAt, receipt.timeZone);
  const before = formatStartTime(previousStartsAt, receipt.timeZone);
  const seats = receipt.seats.map(formatSeat);
  const subject = `New date: ${receipt.eventTitle}`;
  const cancelUntil = receipt.performanceCancelUntil;
  const cancelOpen = cancelUntil !== null && cancelUntil.getTime() > now.getTime() && !receipt.checkedIn;
  const keep = 'Your tickets stay valid for the new time: keep the QR codes of your confirmation.';
  const cancel = cancelOpen
    ? `If you cannot come then, you may cancel the purchase for a full refund until ${formatStartTime(cancelUntil, receipt.timeZone)}.`
    : null;

  const text = [
    `Hello ${receipt.buyerName},`,
    '',
    `${receipt.eventTitle} has moved: it now starts ${when} (it was to start ${before}).`,
    keep,
    ...(cancel ? [cancel] : []),
    '',
    `Event:     ${receipt.eventTitle}`,
    `Venue:     ${receipt.venue}`,
    `New time:  ${when}`,
    `Was:       ${before}`,
    `Seats:     ${seats.join('; ')}`,
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
<p><strong>${escapeHtml(receipt.eventTitle)}</strong> has moved: it now starts <strong>${escapeHtml(when)}</strong>
(it was to start ${escapeHtml(before)}).</p>
<p>${escapeHtml(keep)}${cancel ? `<br>${escapeHtml(cancel)}` : ''}</p>
<table cellpadding="4">
<tr><th align="left">Event</th><td>${escapeHtml(receipt.eventTitle)}</td></tr>
<tr><th align="left">Venue</th><td>${escapeHtml(receipt.venue)}</td></tr>
<tr><th align="left">New time</th><td>${escapeHtml(when)}</td></tr>
<tr><th align="left">Was</th><td>${escapeHtml(before)}</td></tr>
<tr><th align="left">Seats</th><td><ul>${seatItems}</ul></td></tr>
<tr><th align="left">Purchase</th><td><code>${escapeHtml(receipt.purchaseId)}</code></td></tr>
</table>
<p>boxoffice</p>
</body>
</html>
`;
  return { subject, text, html };
}
