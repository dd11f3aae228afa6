import { describe, expect, it } from 'vitest';
import type { PrintableTicket } from '@app/ticketing';
import { formatTicketPrice, printableText, ticketFace } from './ticket-face';

const TICKET: PrintableTicket = {
  ticketId: '1024',
  purchaseId: '0b6f1a8e-2f7a-4c57-9d8e-0d3f3c1b7a11',
  performanceId: 7,
  eventTitle: 'Gala',
  venue: 'Hall',
  timeZone: 'UTC',
  startsAt: new Date('2030-03-01T10:00:00Z'),
  seat: { section: 'Floor', row: 27, rowLabel: 'AA', number: 7 },
  price: 2100,
  currency: 'USD',
  holderName: null,
  code: 'AQAA',
  checkedInAt: null,
};

describe('formatTicketPrice', () => {
  it('shifts minor units by the currency exponent: KRW has none, USD two, with the ISO code', () => {
    expect(formatTicketPrice(198000, 'KRW')).toBe('KRW 198,000');
    expect(formatTicketPrice(1, 'KRW')).toBe('KRW 1');
    expect(formatTicketPrice(2100, 'USD')).toBe('USD 21.00');
    expect(formatTicketPrice(5, 'USD')).toBe('USD 0.05');
    expect(formatTicketPrice(123456789, 'USD')).toBe('USD 1,234,567.89');
    expect(formatTicketPrice(2100, 'EUR')).toBe('EUR 21.00');
    expect(formatTicketPrice(1500, 'JPY')).toBe('JPY 1,500');
    // Three decimals (Bahraini dinar).
    expect(formatTicketPrice(1500, 'BHD')).toBe('BHD 1.500');
  });

  it('says Free for a seat that cost nothing (a comp)', () => {
    expect(formatTicketPrice(0, 'KRW')).toBe('Free');
  });

  it('never prints a symbol the PDF font lacks', () => {
    expect(printableText(formatTicketPrice(198000, 'KRW'))).toBe('KRW 198,000');
  });
});

describe('ticketFace', () => {
  const when = (startsAt: string, timeZone: string) =>
    ticketFace({ ...TICKET, startsAt: new Date(startsAt), timeZone }).when;

  it("prints the start on the venue's wall clock with the offset of that moment and the zone", () => {
    expect(when('2030-03-01T10:00:00Z', 'Asia/Seoul')).toBe('Friday, 1 March 2030, 19:00 UTC+09:00 (Asia/Seoul)');
    expect(when('2030-03-01T10:00:00Z', 'Asia/Kolkata')).toBe('Friday, 1 March 2030, 15:30 UTC+05:30 (Asia/Kolkata)');
    expect(when('2030-03-01T10:00:00Z', 'UTC')).toBe('Friday, 1 March 2030, 10:00 UTC');
    // New York: -05:00 in winter, -04:00 in summer; the day the clock goes back has 01:30 twice.
    expect(when('2030-01-15T23:30:00Z', 'America/New_York')).toBe(
      'Tuesday, 15 January 2030, 18:30 UTC-05:00 (America/New_York)',
    );
    expect(when('2030-07-15T23:30:00Z', 'America/New_York')).toBe(
      'Monday, 15 July 2030, 19:30 UTC-04:00 (America/New_York)',
    );
    expect(when('2027-11-07T05:30:00Z', 'America/New_York')).toBe(
      'Sunday, 7 November 2027, 01:30 UTC-04:00 (America/New_York)',
    );
    expect(when('2027-11-07T06:30:00Z', 'America/New_York')).toBe(
      'Sunday, 7 November 2027, 01:30 UTC-05:00 (America/New_York)',
    );
    // A start late on the venue's day is another date in UTC.
    expect(when('2030-03-01T16:00:00Z', 'Asia/Seoul')).toBe('Saturday, 2 March 2030, 01:00 UTC+09:00 (Asia/Seoul)');
  });

  it('names the seat by its row label, and the price, holder, ids and code', () => {
    expect(ticketFace({ ...TICKET, holderName: 'Ada Lovelace' })).toEqual({
      eventTitle: 'Gala',
      venue: 'Hall',
      when: 'Friday, 1 March 2030, 10:00 UTC',
      seat: 'Section Floor, row AA, seat 7',
      price: 'USD 21.00',
      holder: 'Ada Lovelace',
      purchaseId: TICKET.purchaseId,
      ticketId: '1024',
      code: 'AQAA',
      checkedIn: null,
    });
  });
});

describe('printableText', () => {
  it('keeps what the built-in font prints: ASCII, Latin-1 and WinAnsi extras such as € and –', () => {
    expect(printableText('Nachtmusik – Café Ölberg, €5 “live” ½')).toBe('Nachtmusik – Café Ölberg, €5 “live” ½');
  });

  it('composes first: an accent written as a combining mark prints as one letter', () => {
    expect(printableText('Cafe\u0301')).toBe('Café');
  });

  it('replaces each character it cannot print by one "?", visibly (Hangul, CJK, Cyrillic, an emoji)', () => {
    expect(printableText('봄 콘서트 Spring')).toBe('? ??? Spring');
    expect(printableText('東京')).toBe('??');
    expect(printableText('Москва')).toBe('??????');
    expect(printableText('Gala 🎻')).toBe('Gala ?');
    expect(printableText('₩198,000')).toBe('?198,000');
  });

  it('drops control characters', () => {
    expect(printableText('A\tB\nC\u0085D')).toBe('ABCD');
  });
});
