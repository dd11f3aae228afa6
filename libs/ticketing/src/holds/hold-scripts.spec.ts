import { describe, expect, it } from 'vitest';
import { fakeScriptClient, scriptArgv as argv } from '../../test/fake-script-client';
import { digestOfKey } from '../purchases/idempotency';
import { performanceKeys } from '../redis-keys';
import { accessCodeDigest } from '../presales/access-code';
import {
  HOLD_SEATS,
  holdOutcome,
  holdReplay,
  holdScriptKeys,
  holdSeats,
  presaleOutcome,
  withAccessCode,
} from './hold-scripts';

/** What lua-includes/hold-taking.lua's requestRecordKey takes for an Idempotency-Key record. */
const RECORD_NAME = /\}:hold-request:[^:]+:[^:]+$/;

describe('holdScriptKeys', () => {
  const keys = performanceKeys(7);
  const head = { userId: '6f1c0d3e-0000-4000-8000-000000000001', holdId: 'b0f10000-0007-8000-8000-000000000001' };

  it('sends nothing more without an Idempotency-Key: the 13 fixed keys, then the expired holds', () => {
    const sent = holdScriptKeys(keys, head, ['old-hold']);
    expect(sent).toHaveLength(14);
    expect(sent[13]).toBe(keys.hold('old-hold'));
    expect(sent.filter((key) => RECORD_NAME.test(key))).toEqual([]);
  });

  it("puts the key's record right after the fixed keys (and the user's index), before the expired holds", () => {
    const digest = digestOfKey('a key: {with} braces');
    const userIndex = { key: 'user-hold-performances:u', until: 1 };
    const sent = holdScriptKeys(keys, { ...head, userIndex, keyDigest: digest }, ['old-hold']);
    expect(sent.slice(13)).toEqual([userIndex.key, keys.holdRequest(head.userId, digest), keys.hold('old-hold')]);
    expect(sent[14]).toMatch(RECORD_NAME);
    // A hold record is never taken for the key's record (the scripts tell them apart by name).
    expect(keys.hold(head.holdId)).not.toMatch(RECORD_NAME);
  });
});

describe('holdReplay', () => {
  it("reads a REPLAY reply's fields, the arrangement only when there is one", () => {
    expect(holdReplay(['h1', 1000, 3000, 'KRW', '1000,2000', '5,4', ''])).toEqual({
      outcome: 'REPLAY',
      holdId: 'h1',
      expiresAt: 1000,
      amount: 3000,
      currency: 'KRW',
      seatIds: [5, 4],
      seatPrices: [1000, 2000],
    });
    expect(holdReplay(['h1', 1000, 3000, 'KRW', '1000,2000', '5,4', 'TOGETHER']).arrangement).toBe('TOGETHER');
  });
});

describe('withAccessCode', () => {
  it('sends nothing more without an access code, and its digest and miss limit last with one', () => {
    expect(withAccessCode([300000, 4, '', 5], {})).toEqual([300000, 4, '', 5]);
    const digest = accessCodeDigest(7, 'FANS-1');
    expect(withAccessCode([300000, 4, '', 5], { accessCodeDigest: digest })).toEqual([
      300000,
      4,
      '',
      5,
      `code:${digest}:10:900000`,
    ]);
    // Case-insensitive, per performance.
    expect(accessCodeDigest(7, 'fans-1')).toBe(digest);
    expect(accessCodeDigest(8, 'FANS-1')).not.toBe(digest);
  });
});

describe('presaleOutcome', () => {
  it('reads the open presales of PRESALE_CODE_REQUIRED, names with colons and commas kept', () => {
    expect(presaleOutcome('PRESALE_CODE_REQUIRED', ['1900000000000', '11', 'Fans: a, b', '12', 'Card'])).toEqual({
      outcome: 'PRESALE_CODE_REQUIRED',
      salesOpenAt: 1900000000000,
      presales: [
        { id: '11', name: 'Fans: a, b' },
        { id: '12', name: 'Card' },
      ],
    });
    expect(presaleOutcome('ACCESS_CODE_INVALID', [])).toEqual({ outcome: 'ACCESS_CODE_INVALID' });
    expect(presaleOutcome('ACCESS_CODE_ATTEMPTS', [61_234])).toEqual({
      outcome: 'ACCESS_CODE_ATTEMPTS',
      retryAfterMs: 61_234,
    });
    expect(presaleOutcome('OK', [])).toBeNull();
  });
});

describe('holdOutcome', () => {
  it('reads the replies both hold scripts share, and none of their own', () => {
    expect(holdOutcome('NO_PERFORMANCE', [])).toEqual({ outcome: 'NO_PERFORMANCE' });
    expect(holdOutcome('NO_LAYOUT', [])).toEqual({ outcome: 'NO_LAYOUT' });
    expect(holdOutcome('KEY_REUSED', [])).toEqual({ outcome: 'KEY_REUSED' });
    expect(holdOutcome('SALES_NOT_OPEN', ['1900000000000'])).toEqual({
      outcome: 'SALES_NOT_OPEN',
      salesOpenAt: 1900000000000,
    });
    expect(holdOutcome('SALES_CLOSED', ['PAUSED'])).toEqual({ outcome: 'SALES_CLOSED', reason: 'PAUSED' });
    expect(holdOutcome('LIMIT', ['3'])).toEqual({ outcome: 'LIMIT', alreadyHeld: 3 });
    expect(holdOutcome('TICKET_LIMIT', ['6', '2', '3'])).toEqual({
      outcome: 'TICKET_LIMIT',
      limit: 6,
      bought: 2,
      held: 3,
    });
    expect(holdOutcome('REPLAY', ['h1', 1000, 3000, 'KRW', '1000', '5', ''])).toMatchObject({
      outcome: 'REPLAY',
      holdId: 'h1',
    });
    expect(holdOutcome('ACCESS_CODE_INVALID', [])).toEqual({ outcome: 'ACCESS_CODE_INVALID' });
    for (const own of ['OK', 'UNAVAILABLE', 'SINGLE_LEFT', 'NO_FIT', 'END_HOLDS', 'SOMETHING']) {
      expect(holdOutcome(own, []), own).toBeNull();
    }
  });
});

describe('holdSeats: rounds of expired holds to end', () => {
  const request = {
    holdId: '7-h',
    userId: 'u',
    performanceId: 7,
    seatIds: [11, 12],
    lifetimeMs: 300_000,
    userLimit: 8,
    retentionMs: 60_000,
  };
  const OK = ['OK', 1_000, 300_000, 'KRW', '150000,150000'];

  it('passes every hold named so far, once each, before the seat ids, with their records among the keys', async () => {
    const { redis, calls } = fakeScriptClient([HOLD_SEATS], [['END_HOLDS', 'a', 'b'], ['END_HOLDS', 'b', 'c'], OK]);
    const result = await holdSeats(redis, performanceKeys(7), request);
    expect(result).toMatchObject({ outcome: 'OK', seatPrices: [150_000, 150_000] });
    expect(argv(calls[0])).toEqual(['300000', '8', '60000', expect.any(String), '', '11', '12']);
    expect(argv(calls[2]).slice(5)).toEqual(['a', 'b', 'c', '11', '12']);
    expect(calls[2].slice(2 + 13, 2 + 16)).toEqual(['a', 'b', 'c'].map((id) => performanceKeys(7).hold(id)));
    expect(Number(calls[2][1])).toBe(16);
  });
});
