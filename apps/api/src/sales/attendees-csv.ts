import { pipeline, Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { stringify } from 'csv-stringify';
import type { AttendeeRecord } from '@app/database';
import { formatLocalInstant } from '@app/ticketing';

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
  'holder_email',
  'holder_name',
  'comp_note',
  'checked_in_by_email',
  'checked_in_by_name',
  // Last, so spreadsheets and scripts that read the columns before them by position keep working.
  'presale_id',
  'presale_name',
] as const;

function line(record: AttendeeRecord, timeZone: string): (string | number | null)[] {
  return [
    record.ticketId,
    record.purchaseId,
    record.section,
    record.rowLabel,
    record.number,
    record.price,
    record.currency,
    formatLocalInstant(record.purchasedAt, timeZone),
    record.checkedInAt ? formatLocalInstant(record.checkedInAt, timeZone) : null,
    record.buyerEmail,
    record.buyerName,
    record.holderEmail,
    record.holderName,
    record.compNote,
    record.checkedInByEmail,
    record.checkedInByName,
    record.presaleId,
    record.presaleName,
  ];
}

/** Whether a stream error only says the client went away before the end (nothing to report). */
function clientLeft(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * The door list as a CSV byte stream (csv-stringify: RFC 4180 quoting, CRLF line ends, UTF-8 with
 * a byte-order mark so spreadsheets read non-Latin names): a header line, then one line per active
 * ticket from `pages`. Prices in minor units of `currency`; times in ISO 8601 on the venue's clock
with its offset then (`timeZone`, IANA: 2026-12-06T11:18:41.588+01:00 in Europe/Berlin; see
formatLocalDateTime), as a manager at the venue reads them. A text cell a
 * spreadsheet would run as a formula (=, +, -, @, their fullwidth forms, tab, carriage return
 * first) starts with an apostrophe (csv-stringify's `escape_formulas`; OWASP, "CSV Injection").
 * Reads the next page only when the client has taken the previous one (stream back-pressure), and
 * gives the event loop a turn between pages, so a large list never holds it for long.
 *
 * A page that fails to load destroys the stream with its error (the answer is cut off: never left
 * hanging, never ended as if complete) and is passed to `onError`; a client that goes away stops
 * the reads and reports nothing.
 */
export function attendeesCsv(
  pages: AsyncIterable<AttendeeRecord[]>,
  timeZone: string,
  onError: (error: Error) => void,
): Readable {
  const csv = stringify({
    bom: true,
    header: true,
    columns: [...ATTENDEE_CSV_COLUMNS],
    record_delimiter: 'windows',
    escape_formulas: true,
  });
  async function* lines(): AsyncGenerator<(string | number | null)[]> {
    for await (const page of pages) {
      for (const record of page) yield line(record, timeZone);
      await nextTurn();
    }
  }
  pipeline(Readable.from(lines()), csv, (error) => {
    if (error && !clientLeft(error)) onError(error);
  });
  return csv;
}
