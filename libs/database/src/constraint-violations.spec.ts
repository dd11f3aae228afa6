import { QueryFailedError } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { refusedForGood } from './constraint-violations';

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
