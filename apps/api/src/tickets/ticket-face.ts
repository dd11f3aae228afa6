import { formatAmount, formatSeat, formatStartTime, type PrintableTicket } from '@app/ticketing';

/** What a printed ticket's face says, line by line (before the PDF font's limits, see `printableText`). */
export interface TicketFace {
  eventTitle: string;
  venue: string;
  /** The start on the venue's wall clock with its UTC offset and zone: "Sunday, 14 March 2027, 19:30 UTC+09:00 (Asia/Seoul)". */
  when: string;
  /** "Section Floor, row C, seat 7" (the row by its label, as the e-mails name seats: formatSeat). */
  seat: string;
  /** "KRW 198,000", "USD 21.00"; "Free" for a seat that cost nothing (a comp, a free event). */
  price: string;
  /** Null when the holder's name is not known (a walk-up who gave none). */
  holder: string | null;
  purchaseId: string;
  ticketId: string;
  code: string;
  /** "Checked in at <venue time>: it admits no one again" for a ticket used at the door, else null. */
  checkedIn: string | null;
}

/** The face of `ticket`: its facts as people read them, the times on the venue's clock. */
export function ticketFace(ticket: PrintableTicket): TicketFace {
  return {
    eventTitle: ticket.eventTitle,
    venue: ticket.venue,
    when: formatStartTime(ticket.startsAt, ticket.timeZone),
    seat: formatSeat(ticket.seat),
    price: formatTicketPrice(ticket.price, ticket.currency),
    holder: ticket.holderName,
    purchaseId: ticket.purchaseId,
    ticketId: ticket.ticketId,
    code: ticket.code,
    checkedIn: ticket.checkedInAt
      ? `Checked in at ${formatStartTime(ticket.checkedInAt, ticket.timeZone)}: it admits no one again`
      : null,
  };
}

/**
 * A seat's price, an integer in minor units of `currency` (ISO 4217), with the currency's ISO code
 * rather than its symbol (the PDF's built-in font has no "₩"), shifted by its exponent:
 * (198000, 'KRW') → "KRW 198,000", (2100, 'USD') → "USD 21.00"; 0 → "Free".
 */
export function formatTicketPrice(amount: number, currency: string): string {
  if (amount === 0) return 'Free';
  // Intl puts a no-break space after the code; a plain one prints the same.
  return formatAmount(amount, currency, 'code').replace(/\u00a0/g, ' ');
}

/** Code points beyond Latin-1 that WinAnsiEncoding (the built-in PDF fonts' encoding) has, as pdfkit maps them. */
const WIN_ANSI_EXTRA = new Set([
  0x0152, 0x0153, 0x0160, 0x0161, 0x0178, 0x017d, 0x017e, 0x0192, 0x02c6, 0x02dc, 0x2013, 0x2014, 0x2018, 0x2019,
  0x201a, 0x201c, 0x201d, 0x201e, 0x2020, 0x2021, 0x2022, 0x2026, 0x2030, 0x2039, 0x203a, 0x20ac, 0x2122,
]);

/** What a character the PDF's font cannot draw is printed as: visibly not the text, never another letter. */
export const UNPRINTABLE = '?';

/**
 * `text` as the PDF's built-in Helvetica can print it (WinAnsiEncoding: Latin-1 and a few more,
 * such as "€", "–", curly quotes): composed first (NFC, so "é" written as e + accent prints), each
 * other character (Hangul, CJK, Cyrillic, emoji…) replaced by "?", one per character as the reader
 * sees it (a surrogate pair is one), and control characters dropped. pdfkit would otherwise write
 * such a character's code as bytes of other letters.
 */
export function printableText(text: string): string {
  let out = '';
  for (const char of text.normalize('NFC')) {
    const code = char.codePointAt(0)!;
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) continue;
    out += code <= 0xff || WIN_ANSI_EXTRA.has(code) ? char : UNPRINTABLE;
  }
  return out;
}
