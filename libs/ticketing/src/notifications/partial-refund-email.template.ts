import { PurchaseReceipt, PurchaseStatus } from '@app/database';
import type { PurchaseRefundedMessage } from '@app/messaging/contracts';
import { escapeHtml, factsEmail, RenderedEmail } from './email-layout';
import { givenBackAtWindow } from './cancellation-email.template';
import { formatAmount, formatSeat, formatStartTime } from './purchase-email.template';

/**
 * The notice of a partial refund: an operator refunded some seats of a confirmed purchase ("we
 * refunded" for an online purchase, "the box office refunded" for a window sale). It
 * names the refunded seats (those kept sold, checked in, apart) and the amount given back, says
 * their tickets no longer admit anyone, and lists the seats the buyer keeps, whose tickets still
 * work (a seat someone else holds now by a transfer apart: "Passed on"). A box office sale's money was given back at the window as the refund was made: in cash, or to
 * the card on the terminal (`receipt.paymentMethod`). `receipt`: the purchase as PostgreSQL has it now (its seats without the refunded ones);
 * the refunded seats are named from its `refundedSeats`. Of a purchase canceled since (`receipt.status`), no
 * seat is called the buyer's: the cancellation's own notice tells the rest.
 */
export function renderPartialRefundEmail(receipt: PurchaseReceipt, message: PurchaseRefundedMessage): RenderedEmail {
  const when = formatStartTime(receipt.performanceStartsAt, receipt.timeZone);
  const refundedAt = formatStartTime(new Date(message.refundedAt), receipt.timeZone);
  const named = new Set(message.seatIds);
  const keeps = new Set(message.keptSeatIds ?? []);
  const seats = receipt.refundedSeats.filter((seat) => named.has(seat.seatId));
  const voided = seats.filter((seat) => !keeps.has(seat.seatId)).map(formatSeat);
  const kept = seats.filter((seat) => keeps.has(seat.seatId)).map(formatSeat);
  // A seat someone else holds by a transfer is not the buyer's to keep: named apart, as the
  // confirmation's resend and the new-date notice name it.
  // A purchase canceled since (its rest refunded whole right after this refund) leaves the buyer no
  // seat: its own notice tells that, so this one calls none of them the buyer's.
  const canceled = receipt.status === PurchaseStatus.Canceled;
  const passedOn = canceled ? [] : receipt.transferredSeats.map(formatSeat);
  const yours = canceled ? [] : receipt.seats.map(formatSeat).filter((seat) => !passedOn.includes(seat));
  // Counted from the refund itself: its seats are named from PostgreSQL's tickets.
  const one = message.seatIds.length === 1;
  const money =
    message.amount === 0
      ? 'They were free, so there is nothing to refund.'
      : `${formatAmount(message.amount, message.currency)} ${givenBackAtWindow(receipt.paymentMethod) ?? 'is on its way back to you'}.`;
  const lines = [
    `${receipt.paymentMethod === null ? 'we' : 'the box office'} refunded ${one ? 'one seat' : `${message.seatIds.length} seats`} of your purchase for ${receipt.eventTitle}. ${money}`,
    `The refunded ${one ? "seat's ticket no longer admits" : "seats' tickets no longer admit"} anyone; ${canceled ? 'the rest of your purchase was canceled since, as its own notice says.' : 'your other tickets still work.'}`,
  ];
  return factsEmail({
    subject: `Refunded: ${one ? 'a seat' : `${message.seatIds.length} seats`} of your tickets for ${receipt.eventTitle}`,
    name: receipt.buyerName,
    intro: { text: lines, html: `<p>${lines.map(escapeHtml).join('\n')}</p>` },
    facts: [
      { label: 'Event', value: receipt.eventTitle },
      { label: 'Venue', value: receipt.venue },
      { label: 'When', value: when },
      ...(voided.length > 0 ? [{ label: 'Refunded', value: voided }] : []),
      ...(kept.length > 0 ? [{ label: 'Kept', value: kept.map((seat) => `${seat} (checked in, not resold)`) }] : []),
      message.amount === 0
        ? { label: 'Amount', value: 'Free, nothing charged' }
        : { label: 'Refund', value: formatAmount(message.amount, message.currency) },
      ...(yours.length > 0 ? [{ label: 'Yours', value: yours }] : []),
      ...(passedOn.length > 0
        ? [{ label: 'Passed on', value: passedOn.map((seat) => `${seat} (its holder has it)`) }]
        : []),
      { label: 'Date', value: refundedAt },
      { label: 'Purchase', value: receipt.purchaseId, code: true },
    ],
  });
}
