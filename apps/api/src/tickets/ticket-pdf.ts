import { applyDecorators, Injectable, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiResponse } from '@nestjs/swagger';
import { renderTicketQr, TICKET_PRINT_LIMIT, type PrintableTicket } from '@app/ticketing';
import { ErrorBodyDto } from '../common/error-body.dto';
import { printableText, ticketFace } from './ticket-face';

/** The printed tickets' media type. */
const PDF_TYPE = 'application/pdf';

/** The OpenAPI answer of a ticket PDF: a binary body. */
const PDF_RESPONSE = { [PDF_TYPE]: { schema: { type: 'string', format: 'binary' } } };

/**
 * The OpenAPI answers the three print routes share: 200 the PDF (`pages`: one ticket, or one page
 * each), 404 and 409 (ErrorBodyDto, `notFound` and `conflict` saying when) and 429
 * TooManyTicketPrints under TICKET_PRINT_LIMIT[`limit`] (`buyer`: a buyer's, an admin's in
 * brackets; `operator`: the box office window's). A route's own 400 or 403 stay on the route.
 */
export function ApiTicketPdfResponses(route: {
  pages: 'one' | 'each';
  notFound: string;
  conflict: string;
  limit: keyof typeof TICKET_PRINT_LIMIT;
}): MethodDecorator {
  const { buyer, operator } = TICKET_PRINT_LIMIT;
  const minutes = (windowMs: number) => windowMs / 60_000;
  const tooMany =
    route.limit === 'buyer'
      ? `${buyer.perWindow} PDFs in the last ${minutes(buyer.windowMs)} minutes by this account, the three print routes together (an admin: ${operator.perWindow})`
      : `${operator.perWindow} PDFs in the last ${minutes(operator.windowMs)} minutes by this account, the three print routes together`;
  return applyDecorators(
    ApiOkResponse({
      description:
        route.pages === 'one'
          ? 'the ticket, one A4 page (application/pdf, an attachment)'
          : 'the tickets, one A4 page each (application/pdf, an attachment)',
      content: PDF_RESPONSE,
    }),
    ApiResponse({ status: 404, type: ErrorBodyDto, description: route.notFound }),
    ApiResponse({ status: 409, type: ErrorBodyDto, description: route.conflict }),
    ApiResponse({ status: 429, type: ErrorBodyDto, description: `TooManyTicketPrints: ${tooMany}; \`Retry-After\`` }),
  );
}

/** A4 portrait in PDF points (1/72 in). */
const PAGE = { width: 595.28, height: 841.89 };
const MARGIN = 56;
const TEXT_WIDTH = PAGE.width - 2 * MARGIN;
/** The QR code's printed width: 62 mm, its 45 modules (37 + the quiet zone) 1.4 mm each, easy for a door scanner. */
const QR_SIZE = 176;

/**
 * Renders printable tickets as one A4 PDF, one ticket a page: the event, venue, start on the venue's
 * clock with its offset, seat, price, holder, purchase and ticket ids, and the QR code of the code
 * the door scans (the PNG the e-mail carries, renderTicketQr) with the code written under it. Text
 * is set in the PDF's built-in Helvetica (no font file to ship), which prints Latin-1 and a few more
 * characters: anything else prints as "?" (printableText). Glue, beside the controller that serves
 * it: the rules library (libs/ticketing) stays free of pdfkit, which only the api loads, on its first
 * ticket (imported then, as the QR package is).
 */
@Injectable()
export class TicketPdf {
  /** The PDF of `tickets` (at least one), in their order. */
  async render(tickets: readonly PrintableTicket[]): Promise<Buffer> {
    const { default: PDFDocument } = await import('pdfkit');
    const images = await Promise.all(tickets.map((ticket) => renderTicketQr(ticket.code)));
    const doc = new PDFDocument({
      size: 'A4',
      margin: MARGIN,
      autoFirstPage: false,
      info: { Title: printableText(`Tickets of purchase ${tickets[0]?.purchaseId ?? ''}`), Creator: 'boxoffice' },
    });
    const chunks: Buffer[] = [];
    const done = new Promise<Buffer>((resolve, reject) => {
      doc.on('data', (chunk: Buffer) => chunks.push(chunk));
      doc.on('end', () => resolve(Buffer.concat(chunks)));
      doc.on('error', reject);
    });
    tickets.forEach((ticket, index) => {
      doc.addPage({ size: 'A4', margin: MARGIN });
      this.page(doc, ticket, images[index]!, `Ticket ${index + 1} of ${tickets.length}`);
    });
    doc.end();
    return done;
  }

  /** One ticket's page. */
  private page(doc: PDFKit.PDFDocument, ticket: PrintableTicket, qr: Buffer, counter: string): void {
    const face = ticketFace(ticket);
    const line = (text: string, font: string, size: number, options: PDFKit.Mixins.TextOptions = {}) =>
      doc
        .font(font)
        .fontSize(size)
        .text(printableText(text), { width: TEXT_WIDTH, ...options });
    doc.fillColor('#555555');
    line(`ADMIT ONE · ${counter}`, 'Helvetica', 10);
    doc.moveDown(0.6).fillColor('#000000');
    // Two lines at most, so a long title never pushes the QR code off its place.
    line(face.eventTitle, 'Helvetica-Bold', 24, { height: 60, ellipsis: true });
    line(face.venue, 'Helvetica', 14);
    doc.moveDown(0.4);
    line(face.when, 'Helvetica', 12);
    doc.moveDown(0.8);
    line(face.seat, 'Helvetica-Bold', 18);
    doc.moveDown(0.4);
    line(`Price: ${face.price}`, 'Helvetica', 12);
    if (face.holder !== null) line(`Holder: ${face.holder}`, 'Helvetica', 12);
    line(`Purchase: ${face.purchaseId}`, 'Helvetica', 10);
    line(`Ticket: ${face.ticketId}`, 'Helvetica', 10);
    if (face.checkedIn !== null) {
      doc.moveDown(0.4);
      line(face.checkedIn, 'Helvetica-Bold', 11);
    }

    const qrTop = Math.max(doc.y + 24, 430);
    doc.image(qr, (PAGE.width - QR_SIZE) / 2, qrTop, { width: QR_SIZE, height: QR_SIZE });
    doc.y = qrTop + QR_SIZE + 8;
    // The code written out, for a door whose scanner fails: Courier 8 fits 68 characters on a line.
    line(face.code, 'Courier', 8, { align: 'center' });
    doc.moveDown(1.2).fillColor('#555555');
    line(
      'Show this page (printed or on a screen) at the entrance. One scan admits one person: ' +
        'a copy of this ticket admits no one after the first scan. Keep it private.',
      'Helvetica',
      9,
      { align: 'center' },
    );
  }
}

/** A PDF download named `filename` (ASCII letters, digits, `-` and `.` only: ids, so no quoting issue). */
export function pdfFile(pdf: Buffer, filename: string): StreamableFile {
  return new StreamableFile(pdf, {
    type: PDF_TYPE,
    disposition: `attachment; filename="${filename}"`,
    length: pdf.length,
  });
}
