import { minorUnitDigits } from '@app/config';
import type { PurchaseReceipt } from '@app/database';
import { offsetMinutesAt } from '../date-time';
import { escapeHtml, factsEmail, RenderedEmail } from './email-layout';

/** A ticket as the e-mail shows it: its seat, its signed code, and the Content-ID of its QR image. */
export interface EmailTicket {
  seat: { section: string; row: number; rowLabel: string; number: number };
  code: string;
  /** The inline image part (`cid:` URL) holding the QR code of `code`. */
  qrCid: string;
  /** When it was checked in at the door, if it was (the e-mail says it admits no one again). */
  checkedInAt?: Date | null;
}

/**
 * The buyer's confirmation: event, venue, performance time (on the venue's wall clock), seats, amount and purchase id, and
 * per ticket its QR code (an inline image the HTML refers to by `qrCid`) with the code written
 * out, for a door whose scanner fails. Without tickets, the purchase id is what to show. A free
 * purchase (amount 0) reads "Free, nothing charged" for its amount: nothing went to the gateway.
 * A comp (`receipt.comp`: the box office gave the tickets, to a guest or an account) is no
 * purchase: it says so, "Your complimentary tickets for …, with the compliments of <venue>",
 * without thanks for a purchase or an amount (its comp note, the box office's own record of who
 * and why, is never in it).
 */
export function renderPurchaseEmail(receipt: PurchaseReceipt, tickets: EmailTicket[] = []): RenderedEmail {
  const when = formatStartTime(receipt.performanceStartsAt, receipt.timeZone);
  const amount = receipt.amount === 0 ? 'Free, nothing charged' : formatAmount(receipt.amount, receipt.currency);
  const seats = receipt.seats.map(formatSeat);
  const title = escapeHtml(receipt.eventTitle);
  const venue = escapeHtml(receipt.venue);
  return factsEmail({
    subject: receipt.comp
      ? `Your complimentary tickets for ${receipt.eventTitle}`
      : `Your tickets for ${receipt.eventTitle}`,
    name: receipt.buyerName,
    intro: receipt.comp
      ? {
          text: [
            `here are your complimentary tickets for ${receipt.eventTitle}, with the compliments of ${receipt.venue}.`,
          ],
          html: `<p>here are your complimentary tickets for <strong>${title}</strong>, with the compliments of ${venue}.</p>`,
        }
      : {
          text: [`thank you for your purchase. Your tickets for ${receipt.eventTitle} are confirmed.`],
          html: `<p>thank you for your purchase. Your tickets for <strong>${title}</strong> are confirmed.</p>`,
        },
    facts: [
      { label: 'Event', value: receipt.eventTitle },
      { label: 'Venue', value: receipt.venue },
      { label: 'When', value: when },
      { label: 'Seats', value: seats },
      ...(receipt.comp ? [] : [{ label: 'Amount', value: amount }]),
      { label: receipt.comp ? 'Reference' : 'Purchase', value: receipt.purchaseId, code: true },
    ],
    after:
      tickets.length > 0
        ? ticketsPart(tickets, receipt.timeZone)
        : {
            text: [`Show this e-mail or the ${receipt.comp ? 'reference' : 'purchase id'} at the entrance.`],
            html: `<p>Show this e-mail or the ${receipt.comp ? 'reference' : 'purchase id'} at the entrance.</p>`,
          },
  });
}

/**
 * The buyer's tickets e-mailed again (`POST /purchases/:id/tickets/resend`, or an operator's resend):
 * not a receipt (no amount, no thanks) but the tickets as they are now: the seats of the tickets it
 * carries (those still the buyer's: a ticket given away by a transfer is named apart, its new holder
 * has it), each with its QR code and code, a ticket already checked in at the door marked so (when,
 * on the venue's clock). `requestedBy` says who asked for it.
 */
export function renderTicketsResentEmail(
  receipt: PurchaseReceipt,
  tickets: EmailTicket[],
  requestedBy: 'buyer' | 'operator',
): RenderedEmail {
  const asked =
    requestedBy === 'buyer' ? 'As you asked, here are your tickets' : 'The box office sent you your tickets';
  const gone = receipt.transferredSeats.map(formatSeat);
  return factsEmail({
    subject: `Your tickets for ${receipt.eventTitle}, sent again`,
    name: receipt.buyerName,
    intro: {
      text: [`${asked} for ${receipt.eventTitle} again.`],
      html: `<p>${asked} for <strong>${escapeHtml(receipt.eventTitle)}</strong> again.</p>`,
    },
    facts: [
      { label: 'Event', value: receipt.eventTitle },
      { label: 'Venue', value: receipt.venue },
      { label: 'When', value: formatStartTime(receipt.performanceStartsAt, receipt.timeZone) },
      { label: 'Seats', value: tickets.map((ticket) => formatSeat(ticket.seat)) },
      ...(gone.length > 0 ? [{ label: 'Passed on', value: gone.map((seat) => `${seat} (its holder has it)`) }] : []),
      { label: 'Purchase', value: receipt.purchaseId, code: true },
    ],
    after: ticketsPart(tickets, receipt.timeZone),
  });
}

/** The tickets part of an e-mail: the plain-text lines (seat: code) and the HTML blocks. */
function ticketsPart(tickets: EmailTicket[], timeZone: string): { text: string[]; html: string } {
  return {
    text: [
      'Your tickets: show the QR code of each ticket (in the HTML version of this e-mail) at the',
      'entrance; one scan admits one person. Staff can also type the code:',
      '',
      ...tickets.map((ticket) => `  ${formatSeat(ticket.seat)}: ${ticket.code}${usedNote(ticket, timeZone, ' ')}`),
    ],
    html: ticketBlocks(tickets, timeZone),
  };
}

/** `(checked in at <venue time>: it admits no one again)` for a ticket used at the door, else ''. */
function usedNote(ticket: EmailTicket, timeZone: string, before: string): string {
  if (!ticket.checkedInAt) return '';
  return `${before}(checked in at ${formatStartTime(ticket.checkedInAt, timeZone)}: it admits no one again)`;
}

/**
 * The HTML of tickets to show at the door: per ticket its seat, its QR code (the inline image `qrCid`)
 * and its code written out, for a door whose scanner fails; a ticket checked in already says so
 * (its time on the clock of `timeZone`, the venue's).
 */
export function ticketBlocks(tickets: EmailTicket[], timeZone = 'UTC'): string {
  const blocks = tickets.map((ticket) => {
    const seat = escapeHtml(formatSeat(ticket.seat));
    const used = usedNote(ticket, timeZone, '');
    return `<tr><td align="center" style="padding: 12px 0">
<p><strong>${seat}</strong></p>${used ? `\n<p><em>${escapeHtml(used)}</em></p>` : ''}
<img src="cid:${escapeHtml(ticket.qrCid)}" width="240" height="240" alt="QR code of the ticket for ${seat}">
<p style="font-family: monospace; font-size: 11px; word-break: break-all">${escapeHtml(ticket.code)}</p>
</td></tr>`;
  });
  return `<h2>Your tickets</h2>
<p>Show the QR code of each ticket at the entrance; one scan admits one person.</p>
<table cellpadding="4">
${blocks.join('\n')}
</table>`;
}

/** A seat as the e-mails name it, by its row's label: `Section Floor, row C, seat 7`. */
export function formatSeat(seat: { section: string; rowLabel: string; number: number }): string {
  return `Section ${seat.section}, row ${seat.rowLabel}, seat ${seat.number}`;
}

/**
 * An amount, an integer in minor units of `currency` (ISO 4217), as people read it:
 * (2100, 'EUR') → "€21.00", (198000, 'KRW') → "₩198,000"; with `display` `code`, the ISO code
 * instead of the symbol, "EUR 21.00", "KRW 198,000" (for a font without "₩": the printed ticket).
 * The minor units are shifted by the currency's exponent as a decimal string, so no binary
 * fraction ever touches the money.
 */
export function formatAmount(amount: number, currency: string, display: 'symbol' | 'code' = 'symbol'): string {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`amount must be an integer in minor units, got ${amount}`);
  const digits = minorUnitDigits(currency);
  const magnitude = String(Math.abs(amount)).padStart(digits + 1, '0');
  const units = magnitude.slice(0, magnitude.length - digits);
  const fraction = magnitude.slice(magnitude.length - digits);
  const decimal = `${amount < 0 ? '-' : ''}${units}${digits > 0 ? `.${fraction}` : ''}` as `${number}`;
  // A decimal string is formatted exactly as written (Intl.NumberFormat v3), not as a double, with
  // the standard's digits: ICU shows fewer for some currencies (HUF 1,500.00 would read HUF 1,500).
  return new Intl.NumberFormat('en', {
    style: 'currency',
    currency,
    currencyDisplay: display,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(decimal);
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/**
 * An instant on the venue's wall clock, spelled out here (not by Intl's locale data) so the e-mail
 * reads the same whatever the server's locale, with the offset of that moment and the zone's
 * name: "Sunday, 14 March 2027, 15:30 UTC-04:00 (America/New_York)". In `UTC` (the default, and
 * events made before venues had zones) simply "…, 19:30 UTC". The offset comes from Intl's time
 * zone data (offsetMinutesAt), so daylight saving time is followed.
 */
export function formatStartTime(startsAt: Date, timeZone = 'UTC'): string {
  const offset = timeZone === 'UTC' ? 0 : offsetMinutesAt(startsAt, timeZone);
  const local = new Date(startsAt.getTime() + offset * 60_000);
  const hours = String(local.getUTCHours()).padStart(2, '0');
  const minutes = String(local.getUTCMinutes()).padStart(2, '0');
  const day = `${WEEKDAYS[local.getUTCDay()]}, ${local.getUTCDate()} ${MONTHS[local.getUTCMonth()]} ${local.getUTCFullYear()}`;
  if (timeZone === 'UTC') return `${day}, ${hours}:${minutes} UTC`;
  const sign = offset < 0 ? '-' : '+';
  const offsetHours = String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0');
  const offsetMinutes = String(Math.abs(offset) % 60).padStart(2, '0');
  return `${day}, ${hours}:${minutes} UTC${sign}${offsetHours}:${offsetMinutes} (${timeZone})`;
}
