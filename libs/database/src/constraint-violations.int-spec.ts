import { DataSource, QueryFailedError } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '@app/core';
import { insertShow, insertUser as insertBuyer, openMigratedDatabase, writePaidPurchase } from '@app/testing';
import { secondActiveTicketSeat, translatingConstraintViolations } from './constraint-violations';
import { PerformanceRepository } from './repositories/performance.repository';

describe('constraint violations become domain errors (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
  });
  afterAll(() => close?.());

  const insertUser = (email: string) =>
    db.query(
      `INSERT INTO users (email, email_key, name, password_hash) VALUES ($1::varchar, lower($1), 'Someone', 'not-a-hash')`,
      [email],
    );

  it('a unique violation is a ConflictError that names no constraint', async () => {
    await insertUser('twice@example.test');
    const error = await translatingConstraintViolations(() => insertUser('TWICE@example.test')).catch((e) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ kind: 'conflict', code: 'Conflict', message: 'already exists' });
  });

  it('any other database error passes unchanged', async () => {
    const error = await translatingConstraintViolations(() => db.query('SELEC 1')).catch((e) => e);
    expect(error).toBeInstanceOf(QueryFailedError);
  });

  it('a performance of an event that is gone is NotFound, and leaves no rows', async () => {
    const performances = new PerformanceRepository(db);
    const error = await performances
      .createWithSeats(
        {
          eventId: 987_654,
          timeZone: 'UTC',
          startsAt: new Date('2030-01-01T19:00:00Z'),
          salesOpenAt: new Date('2029-12-01T10:00:00Z'),
          sections: [
            {
              name: 'A',
              grade: 'R',
              price: 1000,
              rows: 2,
              seatsPerRow: 3,
              geometry: {
                rowLabels: ['A', 'B'],
                x: [0, 1, 2, 0, 1, 2],
                y: [1, 1, 1, 2, 2, 2],
                quality: [1000, 900, 800, 700, 600, 500],
                accessible: [false, false, false, false, false, false],
                companion: [false, false, false, false, false, false],
              },
            },
          ],
        },
        () => {
          throw new Error('no audit row without a performance');
        },
      )
      .catch((e) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ message: 'event not found', details: { eventId: 987_654 } });
    expect(await db.query('SELECT count(*)::int AS n FROM seats')).toEqual([{ n: 0 }]);
  });

  it("names the seat of a second active ticket from PostgreSQL's own refusal, and nothing for another unique key", async () => {
    const userId = await insertBuyer(db, 'seat-twice@example.test', 'Buyer');
    const { performanceId, seatIds } = await insertShow(db, { seats: 2 });
    await writePaidPurchase(db, { userId, performanceId, seatIds });
    const refused = await writePaidPurchase(db, { userId, performanceId, seatIds: [seatIds[1]] }).catch((e) => e);
    expect(refused).toBeInstanceOf(QueryFailedError);
    expect(secondActiveTicketSeat(refused)).toBe(seatIds[1]);
    await insertUser('unique-other@example.test');
    expect(secondActiveTicketSeat(await insertUser('unique-other@example.test').catch((e) => e))).toBeUndefined();
  });
});
