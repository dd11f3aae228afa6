import type { HolderMailFacts, PurchaseReceipt } from '@app/database';
import { escapeHtml, formatSeat, formatStartTime, RenderedEmail } from './purchase-email.template';

/**
 * The notice to a confirmed purchase's buyer that its performance moved: the new start (the
 * receipt's `performanceStartsAt`, as PostgreSQL has it when the notice is sent) and the one the
 * buyer was last told (`previousStartsAt`), both on the venue's wall clock; that the tickets
 * and their QR codes stay valid for the new time; and, while the buyer's cancellation window is
 * still open at `now` and no ticket of the purchase was checked in nor transferred (its cancel is
 * refused then), until when they may cancel for a refund. Its seats are those the buyer still
 * holds; a seat someone else holds now by a transfer is named apart ("Passed on"), that account
 * being told by a notice of its own (renderHolderRescheduleEmail); a seat passed back to the buyer
 * is told to be kept with the QR code of the "received" e-mail (the confirmation's is void).
 */
export function renderRescheduleEmail(receipt: PurchaseReceipt, previousStartsAt: Date, now: Date): RenderedEmail {
  const when = formatStartTime(receipt.performanceStartsAt, receipt.timeZone);
  const before = formatStartTime(previousStartsAt, receipt.timeZone);
  const passedOn = receipt.transferredSeats.map(formatSeat);
  const seats = receipt.seats.map(formatSeat).filter((seat) => !passedOn.includes(seat));
  // A seat the buyer holds again by a transfer back is not among the receipt's tickets (those never
  // given): its confirmation's code is void since (409 TicketTransferred), the "received" e-mail's counts.
  const neverGiven = receipt.tickets.map(formatSeat);
  const passedBack = receipt.transferred ? seats.filter((seat) => !neverGiven.includes(seat)) : [];
  const own = seats.filter((seat) => !passedBack.includes(seat));
  const subject = `New date: ${receipt.eventTitle}`;
  const cancelUntil = receipt.performanceCancelUntil;
  const cancelOpen =
    cancelUntil !== null && cancelUntil.getTime() > now.getTime() && !receipt.checkedIn && !receipt.transferred;
  const keep = [
    ...(own.length > 0 ? ['Your tickets stay valid for the new time: keep the QR codes of your confirmation.'] : []),
    ...(passedBack.length > 0
      ? [
          passedBack.length === 1
            ? `The ticket passed back to you (${passedBack[0]}) stays valid for the new time with the QR code of the e-mail you received it with: the code of your confirmation no longer admits it.`
            : `The tickets passed back to you (${passedBack.join('; ')}) stay valid for the new time with the QR codes of the e-mails you received them with: the codes of your confirmation no longer admit them.`,
        ]
      : []),
    ...(passedOn.length > 0
      ? [
          passedOn.length === 1
            ? 'The ticket you passed on: its holder is told too.'
            : 'The tickets you passed on: their holders are told too.',
        ]
      : []),
  ].join(' ');
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
    ...(seats.length > 0 ? [`Seats:     ${seats.join('; ')}`] : []),
    ...(passedOn.length > 0 ? [`Passed on: ${passedOn.join('; ')}`] : []),
    `Purchase:  ${receipt.purchaseId}`,
    '',
    'boxoffice',
    '',
  ].join('\n');

  const list = (items: string[]) => `<ul>${items.map((seat) => `<li>${escapeHtml(seat)}</li>`).join('')}</ul>`;
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
${seats.length > 0 ? `<tr><th align="left">Seats</th><td>${list(seats)}</td></tr>\n` : ''}${
    passedOn.length > 0 ? `<tr><th align="left">Passed on</th><td>${list(passedOn)}</td></tr>\n` : ''
  }<tr><th align="left">Purchase</th><td><code>${escapeHtml(receipt.purchaseId)}</code></td></tr>
</table>
<p>boxoffice</p>
</body>
</html>
`;
  return { subject, text, html };
}

/**
 * The notice to an account holding tickets of a performance by accepted transfers that the
 * performance moved: the new start (as PostgreSQL has it when the notice is sent) and the one it
 * was last told (`previousStartsAt`), both on the venue's wall clock, the seats it holds now, and
 * that their QR codes (those of the e-mails it received them with) stay valid. No refund line: the
 * purchase, and any refund, stay the buyer's.
 */
export function renderHolderRescheduleEmail(facts: HolderMailFacts, previousStartsAt: Date): RenderedEmail {
  const when = formatStartTime(facts.startsAt, facts.timeZone);
  const before = formatStartTime(previousStartsAt, facts.timeZone);
  const seats = facts.seats.map(formatSeat);
  const subject = `New date: ${facts.eventTitle}`;
  const keep =
    seats.length === 1
      ? 'The ticket you received stays valid for the new time: keep the QR code of the e-mail you received it with.'
      : 'The tickets you received stay valid for the new time: keep the QR codes of the e-mails you received them with.';
  const text = [
    `Hello ${facts.holder.name},`,
    '',
    `${facts.eventTitle} has moved: it now starts ${when} (it was to start ${before}).`,
    keep,
    '',
    `Event:     ${facts.eventTitle}`,
    `Venue:     ${facts.venue}`,
    `New time:  ${when}`,
    `Was:       ${before}`,
    `Seats:     ${seats.join('; ')}`,
    '',
    'boxoffice',
    '',
  ].join('\n');
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>Hello ${escapeHtml(facts.holder.name)},</p>
<p><strong>${escapeHtml(facts.eventTitle)}</strong> has moved: it now starts <strong>${escapeHtml(when)}</strong>
(it was to start ${escapeHtml(before)}).</p>
<p>${escapeHtml(keep)}</p>
<table cellpadding="4">
<tr><th align="left">Event</th><td>${escapeHtml(facts.eventTitle)}</td></tr>
<tr><th align="left">Venue</th><td>${escapeHtml(facts.venue)}</td></tr>
<tr><th align="left">New time</th><td>${escapeHtml(when)}</td></tr>
<tr><th align="left">Was</th><td>${escapeHtml(before)}</td></tr>
<tr><th align="left">Seats</th><td><ul>${seats.map((seat) => `<li>${escapeHtml(seat)}</li>`).join('')}</ul></td></tr>
</table>
<p>boxoffice</p>
</body>
</html>
`;
  return { subject, text, html };
}
