import { describe, expect, it } from 'vitest';
import type { Env } from '@app/config';
import { FakeClock } from '@app/testing';
import { AdmissionRequiredError } from '../errors';
import { AdmissionGate } from './admission-gate';
import { AdmissionTokens } from './admission-token';
import type { WaitingRoomService } from './waiting-room.service';
import type { WaitingRoomStore } from './waiting-room.store';

const CACHE_MS = 60_000;

/** A gate over a fake store and a FakeClock: counts the Redis calls the gate would make. */
function gateWith(queueOn: Set<number>, slot: 'OK' | 'NOT_ADMITTED' = 'OK') {
  const calls = { isOn: 0, useAdmission: 0, tokenUntil: [] as number[], end: [] as string[] };
  const store = {
    queueState: async (performanceId: number) => {
      calls.isOn++;
      return queueOn.has(performanceId) ? 'on' : 'off';
    },
    useAdmission: async (_performanceId: number, _ticketId: string, tokenUntil: number) => {
      calls.useAdmission++;
      calls.tokenUntil.push(tokenUntil);
      return slot;
    },
    end: async (_performanceId: number, _userId: string, ticketId: string) => {
      calls.end.push(ticketId);
      return 'ENDED';
    },
  } as unknown as WaitingRoomStore;
  const tokens = new AdmissionTokens('a-secret-of-at-least-thirty-two-characters');
  const rooms = { tokens } as WaitingRoomService;
  const clock = new FakeClock(Date.parse('2027-03-01T10:00:00Z'));
  const gate = new AdmissionGate(store, rooms, { WAITING_ROOM_CACHE_MS: CACHE_MS } as Env, clock);
  const token = (claims: Partial<{ performanceId: number; userId: string; expiresAt: number }> = {}) =>
    tokens.sign({ performanceId: 1, userId: 'alice', ticketId: 't-1', expiresAt: clock.nowMs() + 60_000, ...claims });
  return { gate, calls, token, clock };
}

describe('AdmissionGate', () => {
  it('lets every hold of a performance without a queue through, asking Redis once per cache period', async () => {
    const { gate, calls } = gateWith(new Set());
    expect(gate.knownOff(2)).toBe(false);
    for (let i = 0; i < 1000; i++) expect(await gate.admit('alice', 2, undefined)).toBeNull();
    expect(calls.isOn).toBe(1);
    expect(gate.knownOff(2)).toBe(true);
    expect(calls.useAdmission).toBe(0);
    gate.forget(2);
    await gate.admit('alice', 2, undefined);
    expect(calls.isOn).toBe(2);
  });

  it('trusts what it read for WAITING_ROOM_CACHE_MS of its clock, then reads again', async () => {
    const queueOn = new Set<number>();
    const { gate, calls, clock } = gateWith(queueOn);
    expect(await gate.isOn(2)).toBe(false);
    queueOn.add(2);
    clock.advance(CACHE_MS - 1);
    expect(gate.knownOff(2)).toBe(true);
    expect(await gate.isOn(2)).toBe(false);
    expect(calls.isOn).toBe(1);
    clock.advance(1);
    // Expired: not known off any more, so the hot routes ask, and the answer is read again.
    expect(gate.knownOff(2)).toBe(false);
    expect(await gate.isOn(2)).toBe(true);
    expect(calls.isOn).toBe(2);
  });

  it('shares one read among the checks that miss the cache while it is in flight', async () => {
    const answers: ((state: 'on' | 'off') => void)[] = [];
    const store = {
      queueState: () => new Promise<'on' | 'off'>((resolve) => answers.push(resolve)),
    } as unknown as WaitingRoomStore;
    const gate = new AdmissionGate(
      store,
      {} as WaitingRoomService,
      { WAITING_ROOM_CACHE_MS: CACHE_MS } as Env,
      new FakeClock(0),
    );
    const checks = Array.from({ length: 64 }, () => gate.admit('alice', 2, undefined));
    await Promise.resolve();
    expect(answers).toHaveLength(1);
    answers[0]('off');
    expect(await Promise.all(checks)).toEqual(Array.from({ length: 64 }, () => null));
    expect(gate.knownOff(2)).toBe(true);
    // forget() during a read: the next check reads again rather than joining the older read.
    gate.forget(2);
    const before = gate.isOn(2);
    await Promise.resolve();
    gate.forget(2);
    const after = gate.isOn(2);
    await Promise.resolve();
    expect(answers).toHaveLength(3);
    answers[2]('on');
    answers[1]('off');
    expect(await after).toBe(true);
    expect(await before).toBe(false);
  });

  it('a flood of refusals reads the queue state one read at a time, each refusal answered by a read begun after it arrived', async () => {
    const answers: ((state: 'on' | 'off' | 'canceled') => void)[] = [];
    const store = {
      queueState: () => new Promise<'on' | 'off' | 'canceled'>((resolve) => answers.push(resolve)),
    } as unknown as WaitingRoomStore;
    const gate = new AdmissionGate(
      store,
      { tokens: new AdmissionTokens('a-secret-of-at-least-thirty-two-characters') } as WaitingRoomService,
      { WAITING_ROOM_CACHE_MS: CACHE_MS } as Env,
      new FakeClock(0),
    );
    const settle = async () => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };
    const first = gate.admit('alice', 1, undefined).catch((error: unknown) => error);
    await settle();
    answers[0]('on'); // the cache: the queue is on
    await settle();
    // The first refusal's re-read is running: 100 more refusals arrive while it is.
    expect(answers).toHaveLength(2);
    const flood = Array.from({ length: 100 }, () => gate.admit('alice', 1, 'forged').catch((error: unknown) => error));
    await settle();
    expect(answers).toHaveLength(2);
    answers[1]('on');
    await settle();
    // The first refusal had its answer; the 100 share one read that began only now, after they arrived.
    expect(await first).toBeInstanceOf(AdmissionRequiredError);
    expect(answers).toHaveLength(3);
    // The performance was canceled before that read: every one of the 100 sees it (no admission applies).
    answers[2]('canceled');
    expect(await Promise.all(flood)).toEqual(Array.from({ length: 100 }, () => null));
    // What the re-read found is kept: the next request is let through without a read.
    expect(await gate.admit('alice', 1, 'forged')).toBeNull();
    expect(answers).toHaveLength(3);
  });

  it('refuses a missing, forged, foreign or spent (or expired: the slot check says) admission with AdmissionRequiredError', async () => {
    const { gate, token } = gateWith(new Set([1]));
    const forged = token().replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    for (const bad of [undefined, '', 'garbage', forged, token({ userId: 'bob' }), token({ performanceId: 3 })]) {
      await expect(gate.admit('alice', 1, bad)).rejects.toBeInstanceOf(AdmissionRequiredError);
    }
    const spent = gateWith(new Set([1]), 'NOT_ADMITTED');
    await expect(spent.gate.admit('alice', 1, spent.token())).rejects.toBeInstanceOf(AdmissionRequiredError);
  });

  it('admits a valid token with one slot check, and ends the session on completion', async () => {
    const { gate, calls, token } = gateWith(new Set([1]));
    expect(await gate.admit('alice', 1, token())).toBe('t-1');
    expect(calls.useAdmission).toBe(1);
    await gate.complete('alice', 1, 't-1');
    expect(calls.end).toEqual(['t-1']);
  });

  it("leaves a token's expiry to the slot check on the room's clock, which a pause stops (not the api's clock)", async () => {
    const { gate, calls, token, clock } = gateWith(new Set([1]));
    const expiresAt = clock.nowMs() + 1000;
    clock.advance(5000);
    expect(await gate.admit('alice', 1, token({ expiresAt }))).toBe('t-1');
    expect(calls.tokenUntil).toEqual([expiresAt]);
    const { gate: ended } = gateWith(new Set([1]), 'NOT_ADMITTED');
    await expect(ended.admit('alice', 1, token({ expiresAt }))).rejects.toThrow(
      'the admission has ended: join the queue again',
    );
  });
});
