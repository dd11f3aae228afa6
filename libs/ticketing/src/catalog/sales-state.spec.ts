import { describe, expect, it } from 'vitest';
import type { Performance } from './catalog.types';
import { SALES_STATES, SalesState, salesStateAt } from './sales-state';

const ms = (iso: string) => Date.parse(iso);
const OPEN = '2030-02-01T10:00:00.000Z';
const CLOSE = '2030-03-01T17:00:00.000Z';
const STARTS = '2030-03-01T19:00:00.000Z';

type Lifecycle = Pick<Performance, 'status' | 'salesOpenAt' | 'salesCloseAt' | 'startsAt'>;
const performance = (status: Performance['status'], salesCloseAt: string | null = CLOSE): Lifecycle => ({
  status,
  salesOpenAt: new Date(OPEN),
  salesCloseAt: salesCloseAt === null ? null : new Date(salesCloseAt),
  startsAt: new Date(STARTS),
});

describe('salesStateAt', () => {
  it.each<[string, Lifecycle, number, SalesState]>([
    // Time alone (ON_SALE status), at and around each boundary: the scripts' now < salesOpenAt and now >= salesCloseAt.
    ['long before salesOpenAt', performance('ON_SALE'), ms('2030-01-01T00:00:00Z'), 'NOT_OPEN'],
    ['1 ms before salesOpenAt', performance('ON_SALE'), ms(OPEN) - 1, 'NOT_OPEN'],
    ['exactly at salesOpenAt', performance('ON_SALE'), ms(OPEN), 'ON_SALE'],
    ['between the two', performance('ON_SALE'), ms('2030-02-15T00:00:00Z'), 'ON_SALE'],
    ['1 ms before salesCloseAt', performance('ON_SALE'), ms(CLOSE) - 1, 'ON_SALE'],
    ['exactly at salesCloseAt', performance('ON_SALE'), ms(CLOSE), 'ENDED'],
    ['after salesCloseAt, before startsAt', performance('ON_SALE'), ms(CLOSE) + 1, 'ENDED'],
    // salesCloseAt null: sales end at startsAt.
    ['no salesCloseAt, past the would-be close', performance('ON_SALE', null), ms(CLOSE) + 1, 'ON_SALE'],
    ['no salesCloseAt, 1 ms before startsAt', performance('ON_SALE', null), ms(STARTS) - 1, 'ON_SALE'],
    ['no salesCloseAt, exactly at startsAt', performance('ON_SALE', null), ms(STARTS), 'ENDED'],
    // The operator's status wins over every time-derived state, as the scripts check it first.
    ['PAUSED before salesOpenAt', performance('PAUSED'), ms(OPEN) - 1, 'PAUSED'],
    ['PAUSED on sale', performance('PAUSED'), ms(OPEN), 'PAUSED'],
    ['PAUSED after salesCloseAt', performance('PAUSED'), ms(CLOSE), 'PAUSED'],
    ['CLOSED before salesOpenAt', performance('CLOSED'), ms(OPEN) - 1, 'CLOSED'],
    ['CLOSED on sale', performance('CLOSED'), ms(OPEN), 'CLOSED'],
    ['CLOSED after salesCloseAt', performance('CLOSED'), ms(CLOSE), 'CLOSED'],
    ['CLOSED without salesCloseAt after startsAt', performance('CLOSED', null), ms(STARTS), 'CLOSED'],
    ['CANCELED before salesOpenAt', performance('CANCELED'), ms(OPEN) - 1, 'CANCELED'],
    ['CANCELED on sale', performance('CANCELED'), ms(OPEN), 'CANCELED'],
    ['CANCELED after startsAt', performance('CANCELED', null), ms(STARTS), 'CANCELED'],
  ])('%s', (_case, lifecycle, now, expected) => {
    expect(salesStateAt(lifecycle, now)).toBe(expected);
  });

  it('ends before it opens when both apply (salesOpenAt moved past a close time by data of before)', () => {
    // assertLifecycle keeps salesOpenAt < salesCloseAt; the order still matches the scripts' ENDED first.
    const odd = { ...performance('ON_SALE'), salesOpenAt: new Date(ms(CLOSE) + 60_000) };
    expect(salesStateAt(odd, ms(CLOSE))).toBe('ENDED');
  });

  it('lists every state once, in the order they are decided', () => {
    expect(new Set(SALES_STATES).size).toBe(6);
    expect(SALES_STATES).toEqual(['CANCELED', 'CLOSED', 'PAUSED', 'ENDED', 'NOT_OPEN', 'ON_SALE']);
  });
});
