import { pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { AttendeeRecord } from '@app/database';

/** The door list's columns, in order: the CSV's header line. */
export const ATTENDEE_CSV_COLUMNS = [
  'ticket_id',
  'purchase_id',
  'section',
  'row',
  'seat',
  'price',
  'currency',
  'purchased_at',
  'checked_in_at',
  'buyer_email',
  'buyer_name',
] as const;

/**
 * A cell a spreadsheet would run as a formula (=, +, -, @, tab, carriage return first) starts
 * with an apostrophe instead: a buyer's name like `=HYPERLINK(…)` is text when an operator opens
 * the file. OWASP, "CSV Injection".
 */
export function neutralizeFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function line(record: AttendeeRecord): (string | number | null)[] {
  return [
    record.ticketId,
    record.purchaseId,
    record.section,
    record.rowLabel,
    record.number,
    record.price,
    record.currency,
    record.purchasedAt.toISOString(),
    record.checkedInAt?.toISOString() ?? null,
    record.buyerEmail,
    record.buyerName,
  ];
}

/**
 * The door list as a CSV byte stream (RFC 4180 quoting by csv-stringify, CRLF line ends, UTF-8
 * with a byte-order mark so spreadsheets read non-Latin names): a header line, then one line per
 * active ticket from `pages`. Prices in minor units of `currency`; times in ISO 8601, UTC. Reads
 * the next page only when the client has taken the previous one (stream back-pressure). A page
 * that fails to load destroys the stream with that error.
 */
export function attendeesCsv(pages: AsyncIterable<AttendeeRecord[]>): Readable {
  const csv = stringify({
    bom: true,
    header: true,
    columns: [...ATTENDEE_CSV_COLUMNS],
    record_delimiter: 'windows',
    cast: { string: neutralizeFormula },
  });
  async function* lines(): AsyncGenerator<(string | number | null)[]> {
    for await (const page of pages) for (const record of page) yield line(record);
  }
  // pipeline, not pipe: a failed page destroys the CSV stream with its error (the answer is cut
  // off, never left hanging), and a client that goes away stops the reads.
  pipeline(Readable.from(lines()), csv, () => undefined);
  return csv;
}
