import { text } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttendeeRecord } from '@app/database';
import { ATTENDEE_CSV_COLUMNS, attendeesCsv } from './attendees-csv';

/** What a spreadsheet runs as a formula (OWASP "CSV Injection", and the fullwidth signs Numbers reads). */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const asWritten = (cell: string) => (FORMULA_START.test(cell) ? `'${cell}` : cell);

function record(overrides: Partial<AttendeeRecord> = {}): AttendeeRecord {
  return {
    position: 1,
    ticketId: '7',
    purchaseId: '0b6f3f7e-3c1a-4a55-9a43-8f6c1d6d2a10',
    section: 'Stalls',
    rowLabel: 'A',
    number: 1,
    price: 4500,
    currency: 'EUR',
    purchasedAt: new Date('2030-01-02T03:04:05.678Z'),
    checkedInAt: null,
    buyerEmail: 'ada@example.test',
    buyerName: 'Ada',
    holderEmail: 'ada@example.test',
    holderName: 'Ada',
    compNote: null,
    checkedInByEmail: null,
    checkedInByName: null,
    presaleId: null,
    presaleName: null,
    ...overrides,
  };
}

async function* pagesOf(...pages: AttendeeRecord[][]): AsyncGenerator<AttendeeRecord[]> {
  for (const page of pages) yield page;
}

const parsed = async (pages: AsyncIterable<AttendeeRecord[]>): Promise<string[][]> =>
  parse(await text(attendeesCsv(pages, 'Europe/Berlin', (error) => expect.fail(error.message))), { bom: true });

describe('attendeesCsv', () => {
  it("writes the header, then one line per record of every page, nulls as empty cells, times on the venue's clock with its offset", async () => {
    const lines = await parsed(
      pagesOf(
        [record()],
        [
          record({
            position: 2,
            ticketId: '8',
            price: 0,
            compNote: '=press: Daily Planet',
          }),
          record({
            position: 3,
            ticketId: '9',
            price: null,
            buyerEmail: null,
            buyerName: null,
            holderEmail: null,
            holderName: null,
            checkedInAt: new Date('2030-01-05T18:01:02.003Z'),
            checkedInByEmail: 'gate-2@arena.example',
            checkedInByName: 'Gate 2',
          }),
          record({ position: 4, ticketId: '10', presaleId: '12', presaleName: '+Fan club' }),
        ],
      ),
    );
    expect(lines[0]).toEqual([...ATTENDEE_CSV_COLUMNS]);
    expect(lines.slice(1)).toEqual([
      [
        '7',
        record().purchaseId,
        'Stalls',
        'A',
        '1',
        '4500',
        'EUR',
        '2030-01-02T04:04:05.678+01:00',
        '',
        'ada@example.test',
        'Ada',
        'ada@example.test',
        'Ada',
        '',
        '',
        '',
        '',
        '',
      ],
      // A comp: its note in its column, neutralized as any text a spreadsheet would run.
      [
        '8',
        record().purchaseId,
        'Stalls',
        'A',
        '1',
        '0',
        'EUR',
        '2030-01-02T04:04:05.678+01:00',
        '',
        'ada@example.test',
        'Ada',
        'ada@example.test',
        'Ada',
        "'=press: Daily Planet",
        '',
        '',
        '',
        '',
      ],
      // Checked in: when, and the account of the door it went in at.
      [
        '9',
        record().purchaseId,
        'Stalls',
        'A',
        '1',
        '',
        'EUR',
        '2030-01-02T04:04:05.678+01:00',
        '2030-01-05T19:01:02.003+01:00',
        '',
        '',
        '',
        '',
        '',
        'gate-2@arena.example',
        'Gate 2',
        '',
        '',
      ],
      // Sold in a presale: its id and name, neutralized as any text a spreadsheet would run.
      [
        '10',
        record().purchaseId,
        'Stalls',
        'A',
        '1',
        '4500',
        'EUR',
        '2030-01-02T04:04:05.678+01:00',
        '',
        'ada@example.test',
        'Ada',
        'ada@example.test',
        'Ada',
        '',
        '',
        '',
        '12',
        "'+Fan club",
      ],
    ]);
  });

  it('gives back any name a buyer can have, formulas neutralized (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 5 }), async (names) => {
        const lines = await parsed(
          pagesOf(names.map((buyerName, index) => record({ position: index + 1, buyerName }))),
        );
        expect(lines.slice(1).map((line) => line[10])).toEqual(names.map(asWritten));
      }),
      { numRuns: 200 },
    );
  });

  it('puts an apostrophe before what a spreadsheet would run, in any text column, and only there', async () => {
    const risky = ['=1+1', '+1', '-2', '@SUM(A1)', '\tx', '\rx', '＝HYPERLINK("x")', '＋1', '－1', '＠x'];
    const safe = ['Ada', "'quoted", ' =1', '김하늘'];
    const lines = await parsed(
      pagesOf(
        [...risky, ...safe].map((cell, index) => record({ position: index + 1, section: cell, buyerName: cell })),
      ),
    );
    const expected = [...risky.map((cell) => `'${cell}`), ...safe];
    expect(lines.slice(1).map((line) => line[2])).toEqual(expected);
    expect(lines.slice(1).map((line) => line[10])).toEqual(expected);
  });

  it('ends the stream with the error of a page that fails to load, and reports it', async () => {
    async function* failing(): AsyncGenerator<AttendeeRecord[]> {
      yield [record()];
      throw new Error('database went away');
    }
    const reported: Error[] = [];
    await expect(text(attendeesCsv(failing(), 'UTC', (error) => reported.push(error)))).rejects.toThrow(
      'database went away',
    );
    expect(reported.map((error) => error.message)).toEqual(['database went away']);
  });

  it('stops reading pages when the client goes away, and reports nothing', async () => {
    let pagesRead = 0;
    let finished: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (finished = resolve));
    async function* endless(): AsyncGenerator<AttendeeRecord[]> {
      try {
        for (;;) {
          pagesRead += 1;
          yield Array.from({ length: 100 }, (_, index) => record({ position: index + 1 }));
        }
      } finally {
        finished();
      }
    }
    const reported: Error[] = [];
    const csv = attendeesCsv(endless(), 'UTC', (error) => reported.push(error));
    csv.once('data', () => csv.destroy());
    await stopped; // the pipeline ended the page reader (never resolves if the reads went on)
    expect(pagesRead).toBeLessThan(5);
    expect(reported).toEqual([]);
  });
});
