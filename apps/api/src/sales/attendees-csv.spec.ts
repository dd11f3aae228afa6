import { text } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttendeeRecord } from '@app/database';
import { ATTENDEE_CSV_COLUMNS, attendeesCsv, neutralizeFormula } from './attendees-csv';

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
    ...overrides,
  };
}

async function* pagesOf(...pages: AttendeeRecord[][]): AsyncGenerator<AttendeeRecord[]> {
  for (const page of pages) yield page;
}

const parsed = async (pages: AsyncIterable<AttendeeRecord[]>): Promise<string[][]> =>
  parse(await text(attendeesCsv(pages)), { bom: true });

describe('attendeesCsv', () => {
  it('writes the header, then one line per record of every page, nulls as empty cells', async () => {
    const lines = await parsed(
      pagesOf([record()], [record({ position: 2, ticketId: '8', price: null, buyerEmail: null, buyerName: null })]),
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
        '2030-01-02T03:04:05.678Z',
        '',
        'ada@example.test',
        'Ada',
      ],
      ['8', record().purchaseId, 'Stalls', 'A', '1', '', 'EUR', '2030-01-02T03:04:05.678Z', '', '', ''],
    ]);
  });

  it('gives back any name a buyer can have, formulas neutralized (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 5 }), async (names) => {
        const lines = await parsed(
          pagesOf(names.map((buyerName, index) => record({ position: index + 1, buyerName }))),
        );
        expect(lines.slice(1).map((line) => line[10])).toEqual(names.map(neutralizeFormula));
      }),
      { numRuns: 200 },
    );
  });

  it('puts an apostrophe before what a spreadsheet would run, and only there', () => {
    for (const cell of ['=1+1', '+1', '-2', '@SUM(A1)', '\tx', '\rx']) expect(neutralizeFormula(cell)).toBe(`'${cell}`);
    for (const cell of ['Ada', '', "'quoted", ' =1', '김하늘']) expect(neutralizeFormula(cell)).toBe(cell);
  });

  it('ends the stream with the error of a page that fails to load', async () => {
    async function* failing(): AsyncGenerator<AttendeeRecord[]> {
      yield [record()];
      throw new Error('database went away');
    }
    await expect(text(attendeesCsv(failing()))).rejects.toThrow('database went away');
  });
});
