import { describe, expect, it } from 'vitest';
import type { Env } from '@app/config';
import { AdmissionRequiredError } from '../errors';
import { AdmissionGate } from './admission-gate';
import { AdmissionTokens } from './admission-token';
import type { WaitingRoomService } from './waiting-room.service';
import type { WaitingRoomStore } from './waiting-room.store';

/** A gate over a fake store: counts the Redis calls the gate would make. */
function gateWith(queueOn: Set<number>, slot: 'OK' | 'NOT_ADMITTED' = 'OK') {
  const calls = { isOn: 0, useAdmission: 0, end: [] as string[] };
  const store = {
    queueState: async (performanceId: number) => {
      calls.isOn++;
      return queueOn.has(performanceId) ? 'on' : 'off';
    },
    useAdmission: async () => {
      calls.useAdmission++;
      return slot;
    },
    end: async (_performanceId: number, _userId: string, ticketId: string) => {
      calls.end.push(ticketId);
      return 'ENDED';
    },
  } as unknown as WaitingRoomStore;
  const tokens = new AdmissionTokens('a-secret-of-at-least-thirty-two-characters');
  const rooms = { tokens } as WaitingRoomService;
  const gate = new AdmissionGate(store, rooms, { WAITING_ROOM_CACHE_MS: 60_000 } as Env);
  const token = (claims: Partial<{ performanceId: number; userId: string; expiresAt: number }> = {}) =>
    tokens.sign({ performanceId: 1, userId: 'alice', ticketId: 't-1', expiresAt: Date.now() + 60_000, ...claims });
  return { gate, calls, token };
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

  it('shares one read among the checks that miss the cache while it is in flight', async () => {
    const answers: ((state: 'on' | 'off') => void)[] = [];
    const store = {
      queueState: () => new Promise<'on' | 'off'>((resolve) => answers.push(resolve)),
    } as unknown as WaitingRoomStore;
    const gate = new AdmissionGate(store, {} as WaitingRoomService, { WAITING_ROOM_CACHE_MS: 60_000 } as Env);
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

  it('refuses a missing, forged, expired, foreign or spent admission with AdmissionRequiredError', async () => {
    const { gate, token } = gateWith(new Set([1]));
    const forged = token().replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    for (const bad of [
      undefined,
      '',
      'garbage',
      forged,
      token({ expiresAt: Date.now() - 1 }),
      token({ userId: 'bob' }),
      token({ performanceId: 3 }),
    ]) {
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
});
