import { describe, expect, it } from 'vitest';
import type { PrintableTicket } from '@app/ticketing';
import { readPdf } from '../../test/support/pdf';
import { TicketPdf } from './ticket-pdf';

const TICKET: PrintableTicket = {
  ticketId: '1024',
  purchaseId: '0b6f1a8e-2f7a-4c57-9d8e-0d3f3c1b7a11',
  performanceId: 7,
  eventTitle: '봄 Gala – Café Ölberg',
  venue: 'Hall',
  timeZone: 'Asia/Seoul',
  startsAt: new Date('2030-03-01T10:00:00Z'),
  seat: { section: 'Floor', row: 3, rowLabel: 'C', number: 7 },
  price: 198000,
  currency: 'KRW',
  holderName: 'Ada Lovelace',
  code: 'AQAAAAAAAAABC2_zXm0sSkOdVS8LDB0uPwAAACoAAAV5Qk8y4cNfQ2l3f4sWcJ7EhA',
  checkedInAt: null,
};

describe('TicketPdf', () => {
  it('renders one A4 page a ticket with its facts and the QR code of its code', async () => {
    const second = {
      ...TICKET,
      ticketId: '1025',
      seat: { ...TICKET.seat, number: 8 },
      holderName: null,
      code: `${TICKET.code.slice(0, -1)}B`,
    };
    const pdf = await new TicketPdf().render([TICKET, second]);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.toString('latin1')).toContain('/MediaBox [0 0 595.28 841.89]');
    const read = readPdf(pdf);
    expect(read.pages).toBe(2);
    expect(read.texts).toHaveLength(2);
    const [first, other] = read.texts;
    for (const line of [
      '? Gala – Café Ölberg',
      'Hall',
      'Friday, 1 March 2030, 19:00 UTC+09:00 (Asia/Seoul)',
      'Section Floor, row C, seat 7',
      'Price: KRW 198,000',
      'Holder: Ada Lovelace',
      `Purchase: ${TICKET.purchaseId}`,
      'Ticket: 1024',
      TICKET.code,
      'ADMIT ONE · Ticket 1 of 2',
    ]) {
      expect(first!.split('\n'), line).toContain(line);
    }
    expect(other).toContain('Section Floor, row C, seat 8');
    expect(other).not.toContain('Holder:');
    expect(read.qrCodes).toEqual([TICKET.code, second.code]);
  });

  it('says a ticket checked in already admits no one again, on the venue clock', async () => {
    const pdf = await new TicketPdf().render([{ ...TICKET, checkedInAt: new Date('2030-03-01T09:42:00Z') }]);
    expect(readPdf(pdf).texts[0]).toContain(
      'Checked in at Friday, 1 March 2030, 18:42 UTC+09:00 (Asia/Seoul): it admits no one again',
    );
  });
});
