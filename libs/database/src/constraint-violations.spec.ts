import { QueryFailedError } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { refusedForGood, secondActiveTicketSeat } from './constraint-violations';

const refusal = (code: string) =>
  new QueryFailedError('INSERT …', [], Object.assign(new Error(`refused (${code})`), { code }));

describe('refusedForGood', () => {
  it('parks integrity errors a retry meets again: foreign key, check, not null', () => {
    for (const code of ['23503', '23514', '23502']) expect(refusedForGood(refusal(code))).toBe(true);
  });

  it('retries the rest: the one active ticket per seat (23505), lock and statement timeouts, connection errors', () => {
    for (const code of ['23505', '55P03', '57014', '08006']) expect(refusedForGood(refusal(code))).toBe(false);
    expect(refusedForGood(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(refusedForGood(Object.assign(new Error('not from PostgreSQL'), { code: '23503' }))).toBe(false);
  });
});

describe('secondActiveTicketSeat', () => {
  const unique = (constraint: string, detail: string) =>
    new QueryFailedError(
      'INSERT …',
      [],
      Object.assign(new Error('duplicate key'), { code: '23505', constraint, detail }),
    );

  it("reads the seat from the detail of the one-active-ticket index's refusal", () => {
    expect(secondActiveTicketSeat(unique('tickets_seat_active_key', 'Key (seat_id)=(123) already exists.'))).toBe(123);
  });

  it('names nothing for another index, another code, or an error not from PostgreSQL', () => {
    expect(
      secondActiveTicketSeat(unique('users_email_key_key', 'Key (email_key)=(a@b.c) already exists.')),
    ).toBeUndefined();
    const foreignKey = new QueryFailedError(
      'INSERT …',
      [],
      Object.assign(new Error('fk'), {
        code: '23503',
        constraint: 'tickets_seat_active_key',
        detail: 'Key (seat_id)=(1) is not present',
      }),
    );
    expect(secondActiveTicketSeat(foreignKey)).toBeUndefined();
    expect(secondActiveTicketSeat(new Error('Key (seat_id)=(1) already exists.'))).toBeUndefined();
  });
});
