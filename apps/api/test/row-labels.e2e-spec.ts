import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TestSession } from '@app/testing';
import { rowLabel } from '@app/ticketing';
import { AdminApi, startAdminApi } from './support/api';

const STARTS_AT = '2030-03-01T19:00:00Z';

interface LabelledSeat {
  id: number;
  row: number;
  rowLabel: string;
  number: number;
}
interface MapBody {
  sections: { name: string; rows: { row: number; rowLabel: string; seats: LabelledSeat[] }[] }[];
}

describe('row labels (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let buyer: TestSession;

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi());
    buyer = await createSession(api.app);
  });
  afterAll(() => close?.());

  async function createPerformance(sections: object[]) {
    const event = await call('POST', '/events', { body: { title: 'Concert', venue: 'Hall' }, session: admin });
    expect(event.statusCode).toBe(201);
    return call('POST', `/events/${event.json().id}/performances`, {
      body: { startsAt: STARTS_AT, sections },
      session: admin,
    });
  }

  it('a generated layout labels rows A … Z, AA …; the map, seat pages, holds and purchases carry the labels', async () => {
    const created = await createPerformance([
      { name: 'Stalls', grade: 'R', price: 1000, rows: 28, seatsPerRow: 2 },
      { name: 'Balcony', grade: 'S', price: 500, rows: 2, seatsPerRow: 2, rowLabels: ['Balcony 1', 'Balcony 2'] },
    ]);
    expect(created.statusCode).toBe(201);
    const performanceId: number = created.json().id;

    const map = (await call('GET', `/performances/${performanceId}/map`)).json() as MapBody;
    const [stalls, balcony] = map.sections;
    expect(stalls.rows.map((r) => [r.row, r.rowLabel])).toEqual(
      Array.from({ length: 28 }, (_, i) => [i + 1, rowLabel(i + 1)]),
    );
    expect(stalls.rows[26].rowLabel).toBe('AA');
    expect(balcony.rows.map((r) => [r.row, r.rowLabel])).toEqual([
      [1, 'Balcony 1'],
      [2, 'Balcony 2'],
    ]);
    for (const row of [...stalls.rows, ...balcony.rows]) {
      expect(row.seats.map((seat) => [seat.row, seat.rowLabel])).toEqual(row.seats.map(() => [row.row, row.rowLabel]));
    }

    const page = await call('GET', `/performances/${performanceId}/seats?limit=100`);
    expect(page.statusCode).toBe(200);
    const listed = page.json().items as (LabelledSeat & { section: string })[];
    expect(listed).toHaveLength(60);
    expect(listed[0]).toMatchObject({ section: 'Stalls', row: 1, rowLabel: 'A', number: 1 });
    expect(listed[53]).toMatchObject({ section: 'Stalls', row: 27, rowLabel: 'AA', number: 2 });
    expect(listed[59]).toMatchObject({ section: 'Balcony', row: 2, rowLabel: 'Balcony 2', number: 2 });
    const fromMap = [...stalls.rows, ...balcony.rows].flatMap((r) => r.seats);
    expect(listed.map((seat) => [seat.id, seat.rowLabel])).toEqual(fromMap.map((seat) => [seat.id, seat.rowLabel]));

    const chosen = [listed[53].id, listed[58].id];
    const held = await call('POST', '/reservations', { body: { performanceId, seatIds: chosen }, session: buyer });
    expect(held.statusCode).toBe(201);
    const labelled = [
      { seatId: chosen[0], section: 'Stalls', row: 27, rowLabel: 'AA', number: 2 },
      { seatId: chosen[1], section: 'Balcony', row: 2, rowLabel: 'Balcony 2', number: 1 },
    ];
    expect(held.json().seats).toMatchObject(labelled);
    const again = await call('GET', `/reservations/${held.json().id}`, { session: buyer });
    expect(again.json().seats).toMatchObject(labelled);

    const best = await call('POST', '/reservations', {
      body: { performanceId, quantity: 2, section: 'Balcony' },
      session: buyer,
    });
    expect(best.statusCode).toBe(201);
    for (const seat of best.json().seats) expect(seat.rowLabel).toMatch(/^Balcony [12]$/);
  });

  it.each<[string, object]>([
    ['fewer labels than rows', { rowLabels: ['A'] }],
    ['a label given to two rows', { rowLabels: ['AA', 'AA'] }],
    ['a label of 11 characters', { rowLabels: ['A', 'Balcony 123'] }],
    ['an empty label', { rowLabels: ['A', ''] }],
    ['a label with a control character', { rowLabels: ['A', 'B\u0007'] }],
    ['two labels alike once trimmed', { rowLabels: ['B', ' B '] }],
    ['labels that are not strings', { rowLabels: [1, 2] }],
    ['labels that are not a list', { rowLabels: 'A,B' }],
  ])('answers 400 for %s', async (_, labels) => {
    const res = await createPerformance([{ name: 'A', grade: 'R', price: 1000, rows: 2, seatsPerRow: 2, ...labels }]);
    expect(res.statusCode).toBe(400);
  });
});
