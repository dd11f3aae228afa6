import { describe, expect, it } from 'vitest';
import { buildSeatingLayout, SEAT_INFO_BYTES, SECTION_RECORD_BYTES, SeatPlace } from './seating-layout';

const seat = (id: number, section: string, row: number, number: number, more: Partial<SeatPlace> = {}): SeatPlace => ({
  id,
  section,
  row,
  number,
  grade: section === 'VIP' ? 'VIP' : 'R',
  quality: 500,
  accessible: false,
  companion: false,
  ...more,
});

describe('buildSeatingLayout', () => {
  it('numbers rows and sections in layout order and writes the formats the scripts read', () => {
    const layout = buildSeatingLayout([
      seat(90, 'Floor', 1, 1, { quality: 700 }),
      seat(91, 'Floor', 1, 2, { quality: 800, accessible: true }),
      seat(95, 'Floor', 2, 1, { companion: true }),
      seat(40, 'VIP', 1, 1, { quality: 1000 }),
    ]);
    expect(layout.rowSizes).toEqual([2, 1, 1]);
    const { sections, ...fields } = Object.fromEntries(layout.fields);
    // Per section: first row, rows, slot (after the 3 row slots), marked (accessible or companion) seats; u24 each.
    expect([...(sections as Buffer)]).toEqual([0, 0, 0, 0, 0, 2, 0, 0, 3, 0, 0, 2, 0, 0, 2, 0, 0, 1, 0, 0, 4, 0, 0, 0]);
    expect(sections).toHaveLength(2 * SECTION_RECORD_BYTES);
    expect(fields).toEqual({
      '90': '0,0',
      '91': '1,0',
      '95': '2,1',
      '40': '3,2',
      r0: '0,2,0,800,1',
      r1: '2,1,0,500,1',
      r2: '3,1,1,1000,0',
      // Format 6's records (first row, rows, best quality, slot, marked), for replicas of the version before.
      s0: '0,2,800,3,2',
      s1: '2,1,1000,4,0',
      'sn:floor': '0',
      'sn:vip': '1',
      all: '1,0',
      'g:r': '0',
      'g:vip': '1',
    });
    expect(layout.seatInfo).toHaveLength(4 * SEAT_INFO_BYTES);
    expect(layout.seatInfo.readUInt32BE(SEAT_INFO_BYTES)).toBe(91);
    expect(layout.seatInfo.readUInt16BE(SEAT_INFO_BYTES + 4)).toBe(800);
    expect(layout.seatInfo.readUInt8(SEAT_INFO_BYTES + 6)).toBe(1);
    expect(layout.seatInfo.readUInt8(2 * SEAT_INFO_BYTES + 6)).toBe(2);
  });

  it('lists the sections of a grade written in two casings under one g: field (gradeKey), best first', () => {
    const layout = buildSeatingLayout([
      seat(1, 'A', 1, 1, { grade: 'VIP', quality: 600 }),
      seat(2, 'B', 1, 1, { grade: 'vip', quality: 900 }),
      seat(3, 'C', 1, 1, { grade: 'R' }),
    ]);
    const fields = Object.fromEntries(layout.fields);
    expect(fields['g:vip']).toBe('1,0');
    expect(fields['g:r']).toBe('2');
    expect(Object.keys(fields).filter((key) => key.startsWith('g:'))).toEqual(['g:vip', 'g:r']);
  });

  it('refuses a section whose rows are not together in layout order', () => {
    expect(() => buildSeatingLayout([seat(1, 'A', 1, 1), seat(2, 'B', 1, 1), seat(3, 'A', 2, 1)])).toThrow(
      /not consecutive/,
    );
  });
});
