import type { BoxOfficePaymentMethod, PurchaseReceipt } from '@app/database';
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
 * shows no refund. A box office sale (`receipt.paymentMethod` set) was paid at the window: canceled
 * with its show (`calledOff`), nothing went back yet, and the notice says to bring the tickets or
 * receipt to the box office for the refund (in cash, or to the card, as it was paid: it is owed
 * there, `window_refunds`); refunded by an operator, it says the money was given back at the window.
 * `keptSeatIds`: seats of checked-in tickets the refund kept sold, never resold
 * (`resellCheckedInSeats: false`): the notice names them as kept, apart from the others, whose
 * tickets no longer admit anyone. Ignored for a called-off show (no one is admitted) and without a
 * confirmation; none (a message of an older version) reads as today's notice.
 */
export function renderCancellationEmail(
  receipt: PurchaseReceipt,
  canceledAt: Date,
  {
    confirmed,
    calledOff: byCalledOff,
    byBoxOffice = false,
    keptSeatIds = [],
  }: { confirmed: boolean; calledOff: boolean; byBoxOffice?: boolean; keptSeatIds?: readonly number[] } = {
    confirmed: true,
    calledOff: false,
  },
): RenderedEmail {
  const when = formatStartTime(receipt.performanceStartsAt, receipt.timeZone);
  const free = receipt.amount === 0;
  const amount = formatAmount(receipt.amount, receipt.currency);
  const method = receipt.paymentMethod;
  // A box office sale was paid at the window: the bulk refund of its canceled show gives nothing back
  // by itself (the refund is owed at the window); an operator's refund was given back as it was made.
  const owedAtWindow = !free && method !== null && byCalledOff;
  const paidAtWindow = !free && method !== null && !byCalledOff ? givenBackAtWindow(method) : null;
  const refunded = free
    ? '. It was free, so there is nothing to refund.'
    : owedAtWindow
      ? '.'
      : paidAtWindow
        ? `: ${amount} ${paidAtWindow}.`
        : ' and its amount refunded.';
  const canceled = formatStartTime(canceledAt, receipt.timeZone);
  const called = byCalledOff ? receipt.performanceCancellation : null;
  const calledOff = called ? `The performance was canceled${called.reason ? `: ${called.reason}` : '.'}` : null;
  const canceledBy = byBoxOffice && !called ? ' by the box office' : '';
  const collect = owedAtWindow
    ? `Bring your tickets or receipt to the box office for a refund of ${amount}, ${
        method === 'CASH' ? 'paid back in cash' : 'refunded to the card you paid with'
      }.`
    : null;
  const keeps = new Set(confirmed && !byCalledOff ? keptSeatIds : []);
  const kept = receipt.seats.filter((seat) => keeps.has(seat.seatId)).map(formatSeat);
  const voidedSeats = receipt.seats.filter((seat) => !keeps.has(seat.seatId)).map(formatSeat);

  const voided = !confirmed
    ? 'No tickets will be issued for it.'
    : kept.length === 0
      ? 'Its tickets no longer admit anyone: the QR codes of the confirmation are void.'
      : keptSentence(kept, voidedSeats.length);
  const seatFacts =
    kept.length === 0
      ? [{ label: 'Seats', value: voidedSeats }]
      : [
          ...(voidedSeats.length > 0 ? [{ label: 'Seats', value: voidedSeats }] : []),
          { label: 'Kept', value: kept.map((seat) => `${seat} (checked in, not resold)`) },
        ];
  return factsEmail({
    subject: `Canceled: your tickets for ${receipt.eventTitle}`,
    name: receipt.buyerName,
    intro: {
      text: [
        `your purchase for ${receipt.eventTitle} was canceled${canceledBy}${refunded}`,
        voided,
        ...(calledOff ? ['', calledOff] : []),
        ...(collect ? ['', collect] : []),
      ],
      html: `<p>your purchase for <strong>${escapeHtml(receipt.eventTitle)}</strong> was canceled${canceledBy}${escapeHtml(refunded)}
${escapeHtml(voided)}</p>${calledOff ? `\n<p style="white-space: pre-line">${escapeHtml(calledOff)}</p>` : ''}${
        collect ? `\n<p><strong>${escapeHtml(collect)}</strong></p>` : ''
      }`,
    },
    facts: [
      { label: 'Event', value: receipt.eventTitle },
      { label: 'Venue', value: receipt.venue },
      { label: 'When', value: when },
      ...seatFacts,
      free
        ? { label: 'Amount', value: 'Free, nothing charged' }
        : { label: 'Refund', value: owedAtWindow ? `${amount}, at the box office` : amount },
      { label: 'Canceled', value: canceled },
      { label: 'Purchase', value: receipt.purchaseId, code: true },
    ],
  });
}

/**
 * What a refund that kept checked-in seats says of its tickets: the kept seats by name (whoever
 * came in on them keeps the seat, which is not sold again), then that the others' codes are void.
 */
function keptSentence(kept: string[], others: number): string {
  const one = kept.length === 1;
  const named = kept.join('; ');
  const keptPart = `The ${one ? 'ticket' : 'tickets'} for ${named} ${one ? 'was' : 'were'} checked in at the door and ${
    one ? 'its seat is' : 'their seats are'
  } kept: not sold again.`;
  if (others === 0) return keptPart;
  return `${keptPart} The other ${others === 1 ? 'ticket no longer admits' : 'tickets no longer admit'} anyone: ${
    others === 1 ? 'its QR code is' : 'their QR codes are'
  } void.`;
}

/**
 * How a box office sale's refund went back at the window, as a notice says it after the amount:
 * in cash, or to the card on the terminal; null for an online sale (`paymentMethod` null).
 */
export function givenBackAtWindow(paymentMethod: BoxOfficePaymentMethod | null): string | null {
  if (paymentMethod === null) return null;
  return paymentMethod === 'CASH'
    ? 'was given back to you in cash at the box office'
    : 'was refunded to your card on the box office card terminal';
}
