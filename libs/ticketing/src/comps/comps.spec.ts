import { describe, expect, it, vi } from 'vitest';
import type { Clock } from '@app/core';
import type {
  AdminAuditRepository,
  DroppedSeatBlock,
  NewAdminAudit,
  PerformanceRepository,
  SeatBlocksRepository,
  UsersRepository,
} from '@app/database';
import {
  InvalidInputError,
  NotFoundError,
  PerformanceCanceledError,
  SalesClosedError,
  SeatsUnavailableError,
} from '../errors';
import type { Hold } from '../holds/hold';
import type { HoldService } from '../holds/hold.service';
import type { Purchase } from '../purchases/purchase';
import type { PurchaseService } from '../purchases/purchase.service';
import type { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import {
  COMP_ISSUE_ACTION,
  CompPerformanceStartedError,
  CompService,
  MAX_COMP_NOTE_LENGTH,
  MAX_SEATS_PER_COMP,
  RecipientNotFoundError,
} from './comps';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const operator = { id: 'admin', email: 'admin@example.test' };
const request = { performanceId: 7, email: 'guest@example.test', seatIds: [3, 1], note: 'press: Daily Planet' };
const guest = { id: 'guest', email: 'guest@example.test', emailVerifiedAt: new Date(NOW - 1) };
const show = { id: 7, status: 'ON_SALE', startsAt: new Date(NOW + 3_600_000) };
const held = { id: 'h1', performanceId: 7, userId: 'guest', seatIds: [3, 1], amount: 0, status: 'HELD' } as Hold;
const sold = {
  id: 'p1',
  reservationId: 'h1',
  userId: 'guest',
  performanceId: 7,
  seatIds: [1, 3],
  amount: 0,
} as Purchase;

function comps(
  options: {
    recipient?: object | null;
    performance?: object | null;
    holdComp?: () => Promise<Hold>;
    purchase?: () => Promise<Purchase>;
  } = {},
) {
  const users = { findByEmail: vi.fn(async () => (options.recipient === undefined ? guest : options.recipient)) };
  const performances = {
    findById: vi.fn(async () => (options.performance === undefined ? show : options.performance)),
  };
  const holds = {
    holdComp: vi.fn(options.holdComp ?? (async () => held)),
    releaseOperatorHold: vi.fn(async () => undefined),
  };
  const seatState = { ensure: vi.fn(async () => undefined) };
  const purchases = { purchaseOperatorHold: vi.fn(options.purchase ?? (async () => sold)) };
  const audit = { record: vi.fn(async () => ({})) };
  /** The row lock's transaction: runs the comp, then "deletes" the block of seat 3 and audits it. */
  const taken: DroppedSeatBlock[] = [
    { seatId: 3, reason: 'house', blockedBy: { id: 'admin', email: 'admin@example.test' }, blockedAt: new Date(NOW) },
  ];
  const released: NewAdminAudit[] = [];
  const blocks = {
    takeForComp: vi.fn(
      async (
        _performanceId: number,
        _seatIds: number[],
        apply: () => Promise<Purchase>,
        _purchaseIdOf: (result: Purchase) => string,
        auditOf: (taken: DroppedSeatBlock[], result: Purchase) => NewAdminAudit,
      ) => {
        const result = await apply();
        released.push(auditOf(taken, result));
        return { outcome: 'DONE' as const, result, taken };
      },
    ),
  };
  const clock = { nowMs: () => NOW, now: () => new Date(NOW) };
  const service = new CompService(
    users as unknown as UsersRepository,
    performances as unknown as PerformanceRepository,
    holds as unknown as HoldService,
    seatState as unknown as SeatStateRebuilder,
    purchases as unknown as PurchaseService,
    audit as unknown as AdminAuditRepository,
    blocks as unknown as SeatBlocksRepository,
    clock as unknown as Clock,
  );
  return { service, holds, seatState, purchases, audit, blocks, released };
}

describe('CompService.issue', () => {
  it("holds the seats for the recipient, buys the hold as the recipient's, records the issue, and answers the note", async () => {
    const { service, holds, purchases, audit } = comps();
    expect(await service.issue(operator, request)).toEqual({ ...sold, compNote: 'press: Daily Planet' });
    expect(holds.holdComp).toHaveBeenCalledWith('guest', 7, [3, 1], 'press: Daily Planet', MAX_SEATS_PER_COMP);
    expect(purchases.purchaseOperatorHold).toHaveBeenCalledWith('guest', 'h1');
    expect(audit.record).toHaveBeenCalledWith({
      actorId: 'admin',
      actorEmail: 'admin@example.test',
      action: COMP_ISSUE_ACTION,
      subjectId: 'p1',
      details: {
        performanceId: 7,
        recipientId: 'guest',
        recipientEmail: 'guest@example.test',
        seatIds: [1, 3],
        note: 'press: Daily Planet',
      },
    });
  });

  it("with guest: looks up no account, holds and buys under the operator's account with the guest as delivery, names the guest in the audit row", async () => {
    const { service, holds, purchases, audit } = comps({ recipient: null });
    const guestComp = {
      performanceId: 7,
      guest: { email: 'lois@example.test', name: 'Lois' },
      seatIds: [3, 1],
      note: 'press',
    };
    expect(await service.issue(operator, guestComp)).toEqual({
      ...sold,
      compNote: 'press',
      deliveryEmail: 'lois@example.test',
      deliveryName: 'Lois',
    });
    expect(holds.holdComp).toHaveBeenCalledWith('admin', 7, [3, 1], 'press', MAX_SEATS_PER_COMP, {
      guest: { email: 'lois@example.test', name: 'Lois' },
    });
    expect(purchases.purchaseOperatorHold).toHaveBeenCalledWith('admin', 'h1');
    expect(audit.record).toHaveBeenCalledWith(
      expect.objectContaining({
        details: {
          performanceId: 7,
          recipientId: null,
          recipientEmail: 'lois@example.test',
          guest: { email: 'lois@example.test', name: 'Lois' },
          seatIds: [1, 3],
          note: 'press',
        },
      }),
    );
  });

  it('refuses both or neither of email and guest, and a guest without a name, before anything is asked', async () => {
    const { service, holds } = comps();
    const guestOf = (name: unknown) => ({ email: 'lois@example.test', name }) as { email: string; name: string };
    for (const bad of [
      { performanceId: 7, seatIds: [1], note: 'press' },
      { ...request, guest: guestOf('Lois') },
      { performanceId: 7, seatIds: [1], note: 'press', guest: guestOf('') },
      { performanceId: 7, seatIds: [1], note: 'press', guest: guestOf(' ') },
      { performanceId: 7, seatIds: [1], note: 'press', guest: guestOf('x'.repeat(201)) },
      { performanceId: 7, seatIds: [1], note: 'press', guest: guestOf(undefined) },
    ]) {
      await expect(service.issue(operator, bad), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidInputError);
    }
    expect(holds.holdComp).not.toHaveBeenCalled();
  });

  it('with includeBlocked: holds (blocked seats too) and buys under the row lock, whose transaction deletes the blocks; both audit rows name them', async () => {
    const { service, holds, purchases, audit, blocks, released, seatState } = comps();
    expect(await service.issue(operator, { ...request, includeBlocked: true })).toEqual({
      ...sold,
      compNote: 'press: Daily Planet',
    });
    expect(seatState.ensure).toHaveBeenCalledWith(7);
    expect(blocks.takeForComp).toHaveBeenCalledWith(
      7,
      [3, 1],
      expect.any(Function),
      expect.any(Function),
      expect.any(Function),
    );
    expect(holds.holdComp).toHaveBeenCalledWith('guest', 7, [3, 1], 'press: Daily Planet', MAX_SEATS_PER_COMP, {
      takeBlocked: true,
    });
    expect(purchases.purchaseOperatorHold).toHaveBeenCalledWith('guest', 'h1');
    const block = {
      seatId: 3,
      reason: 'house',
      blockedBy: { id: 'admin', email: 'admin@example.test' },
      blockedAt: new Date(NOW),
    };
    expect(released).toEqual([
      {
        actorId: 'admin',
        actorEmail: 'admin@example.test',
        action: 'seat.release',
        subjectId: 'performance:7',
        details: { performanceId: 7, seatIds: [3], cause: 'comp', purchaseId: 'p1', blocks: [block] },
      },
    ]);
    expect(audit.record).toHaveBeenCalledWith(
      expect.objectContaining({
        action: COMP_ISSUE_ACTION,
        details: expect.objectContaining({ includeBlocked: true, fromBlocks: [block] }),
      }),
    );
  });

  it('with includeBlocked: a sold seat (an active ticket) refuses it before Redis is asked; a bad flag is a 400', async () => {
    const { service, holds, blocks } = comps();
    blocks.takeForComp.mockResolvedValueOnce({ outcome: 'SOLD', seatIds: [3] } as never);
    await expect(service.issue(operator, { ...request, includeBlocked: true })).rejects.toBeInstanceOf(
      SeatsUnavailableError,
    );
    await expect(
      service.issue(operator, { ...request, includeBlocked: 'yes' as unknown as boolean }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect(holds.holdComp).not.toHaveBeenCalled();
  });

  it('with includeBlocked: a performance canceled before the row lock was taken refuses it (409 PerformanceCanceled), Redis not asked', async () => {
    const { service, holds, blocks } = comps();
    blocks.takeForComp.mockResolvedValueOnce({ outcome: 'CANCELED' } as never);
    await expect(service.issue(operator, { ...request, includeBlocked: true })).rejects.toBeInstanceOf(
      PerformanceCanceledError,
    );
    expect(holds.holdComp).not.toHaveBeenCalled();
  });

  it.each([
    ['no account has the address', null, 'NO_ACCOUNT'],
    ['its account has not confirmed it', { ...guest, emailVerifiedAt: null }, 'NOT_CONFIRMED'],
  ])('refuses an address when %s, holding nothing', async (_what, recipient, reason) => {
    const { service, holds, audit } = comps({ recipient });
    const refusal = await service.issue(operator, request).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RecipientNotFoundError);
    expect(refusal).toMatchObject({ kind: 'not_found', code: 'RecipientNotFound', details: { reason } });
    expect(holds.holdComp).not.toHaveBeenCalled();
    expect(audit.record).not.toHaveBeenCalled();
  });

  it('refuses a note that is empty or longer than MAX_COMP_NOTE_LENGTH characters before anything is read', async () => {
    for (const note of ['', '   ', 'x'.repeat(MAX_COMP_NOTE_LENGTH + 1)]) {
      const { service, holds, audit } = comps();
      await expect(service.issue(operator, { ...request, note })).rejects.toBeInstanceOf(InvalidInputError);
      expect(holds.holdComp).not.toHaveBeenCalled();
      expect(audit.record).not.toHaveBeenCalled();
    }
    // Characters, not UTF-16 units: 200 emoji are a note of 200.
    const { service } = comps();
    await expect(
      service.issue(operator, { ...request, note: '🎫'.repeat(MAX_COMP_NOTE_LENGTH) }),
    ).resolves.toMatchObject({
      id: 'p1',
    });
  });

  it('refuses an unknown, canceled or started performance before holding anything', async () => {
    for (const [performance, error] of [
      [null, NotFoundError],
      [{ ...show, status: 'CANCELED' }, PerformanceCanceledError],
      [{ ...show, startsAt: new Date(NOW) }, CompPerformanceStartedError],
    ] as const) {
      const { service, holds } = comps({ performance });
      await expect(service.issue(operator, request)).rejects.toBeInstanceOf(error);
      expect(holds.holdComp).not.toHaveBeenCalled();
    }
    // Paused, closed by status: comps are issued whatever the sales window.
    for (const status of ['PAUSED', 'CLOSED']) {
      const { service } = comps({ performance: { ...show, status } });
      await expect(service.issue(operator, request)).resolves.toMatchObject({ id: 'p1' });
    }
  });

  it('releases the hold and records nothing when the purchase step fails; a cancel in between reads PerformanceCanceled', async () => {
    const { service, holds, audit } = comps({ purchase: () => Promise.reject(new SalesClosedError('CANCELED')) });
    await expect(service.issue(operator, request)).rejects.toBeInstanceOf(PerformanceCanceledError);
    expect(holds.releaseOperatorHold).toHaveBeenCalledWith('guest', 'h1');
    expect(audit.record).not.toHaveBeenCalled();
    const failing = comps({ purchase: () => Promise.reject(new Error('redis gone')) });
    await expect(failing.service.issue(operator, request)).rejects.toThrow('redis gone');
    expect(failing.holds.releaseOperatorHold).toHaveBeenCalledWith('guest', 'h1');
  });

  it('passes a refusal of the seats on as it is; rebuilds a performance Redis lost and holds again', async () => {
    const taken = comps({ holdComp: () => Promise.reject(new SeatsUnavailableError([3])) });
    await expect(taken.service.issue(operator, request)).rejects.toBeInstanceOf(SeatsUnavailableError);
    expect(taken.purchases.purchaseOperatorHold).not.toHaveBeenCalled();

    let calls = 0;
    const lost = comps({
      holdComp: async () => {
        calls += 1;
        if (calls === 1) throw new NotFoundError('performance', { performanceId: 7 });
        return held;
      },
    });
    await expect(lost.service.issue(operator, request)).resolves.toMatchObject({ id: 'p1' });
    expect(lost.seatState.ensure).toHaveBeenCalledWith(7);
    expect(lost.holds.holdComp).toHaveBeenCalledTimes(2);
  });
});
