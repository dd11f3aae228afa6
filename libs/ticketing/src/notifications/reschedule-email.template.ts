import type { HolderMailFacts, PurchaseReceipt } from '@app/database';
import { escapeHtml, factsEmail, RenderedEmail } from './email-layout';
import { formatSeat, formatStartTime } from './purchase-email.template';

/**
 * The notice to a confirmed purchase's buyer that its performance moved: the new start (the
 * receipt's `performanceStartsAt`, as PostgreSQL has it when the notice is sent) and the one the
 * buyer was last told (`previousStartsAt`), both on the venue's wall clock; that the tickets
 * and their QR codes stay valid for the new time; and, while the buyer's cancellation window is
 * still open at `now` and no ticket of the purchase was checked in nor transferred (its cancel is
 * refused then), until when they may cancel for a refund (a free purchase: cancel); a box office sale's
 * buyer, who cannot cancel it, is told to contact the box office instead (unless a ticket was checked
 * in). Its seats are those the buyer still
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
  // A free purchase has nothing to refund: its buyer may still cancel, to free the seats. A box
  // office sale cannot be canceled by its buyer (409 BoxOfficeSale; a walk-up has no account): the
  // box office refunds it, at the window. Nor can a comp (409 CompNotCancelable; a guest comp's
  // guest has no account): the box office takes it back and gives the seats to someone else.
  const cancel =
    receipt.comp || receipt.paymentMethod !== null
      ? receipt.checkedIn
        ? null
        : receipt.comp
          ? 'If you cannot come then, tell the box office, so that your seats can go to someone else.'
          : `If you cannot come then, contact the box office where you bought the tickets${receipt.amount === 0 ? '' : ' about a refund'}.`
      : cancelOpen
        ? `If you cannot come then, you may cancel the purchase${receipt.amount === 0 ? '' : ' for a full refund'} until ${formatStartTime(cancelUntil, receipt.timeZone)}.`
        : null;

  const moved = movedLine(receipt.eventTitle, when, before);
  return factsEmail({
    subject: `New date: ${receipt.eventTitle}`,
    name: receipt.buyerName,
    intro: {
      text: [moved.text, keep, ...(cancel ? [cancel] : [])],
      html: `${moved.html}\n<p>${escapeHtml(keep)}${cancel ? `<br>${escapeHtml(cancel)}` : ''}</p>`,
    },
    facts: [
      { label: 'Event', value: receipt.eventTitle },
      { label: 'Venue', value: receipt.venue },
      { label: 'New time', value: when },
      { label: 'Was', value: before },
      ...(seats.length > 0 ? [{ label: 'Seats', value: seats }] : []),
      ...(passedOn.length > 0 ? [{ label: 'Passed on', value: passedOn }] : []),
      { label: 'Purchase', value: receipt.purchaseId, code: true },
    ],
  });
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
  const keep =
    seats.length === 1
      ? 'The ticket you received stays valid for the new time: keep the QR code of the e-mail you received it with.'
      : 'The tickets you received stay valid for the new time: keep the QR codes of the e-mails you received them with.';
  const moved = movedLine(facts.eventTitle, when, before);
  return factsEmail({
    subject: `New date: ${facts.eventTitle}`,
    name: facts.holder.name,
    intro: {
      text: [moved.text, keep],
      html: `${moved.html}\n<p>${escapeHtml(keep)}</p>`,
    },
    facts: [
      { label: 'Event', value: facts.eventTitle },
      { label: 'Venue', value: facts.venue },
      { label: 'New time', value: when },
      { label: 'Was', value: before },
      { label: 'Seats', value: seats },
    ],
  });
}

/**
 * What a new-date notice opens with: the event moved, its new start and the one before (`when` and
 * `before`, written out already); a text line, and an HTML paragraph.
 */
function movedLine(eventTitle: string, when: string, before: string): { text: string; html: string } {
  return {
    text: `${eventTitle} has moved: it now starts ${when} (it was to start ${before}).`,
    html: `<p><strong>${escapeHtml(eventTitle)}</strong> has moved: it now starts <strong>${escapeHtml(when)}</strong>
(it was to start ${escapeHtml(before)}).</p>`,
  };
}
