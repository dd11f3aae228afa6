import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { NotFoundError } from '../errors';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import type { HoldBestAvailableResult } from './best-available-scripts';
import { HoldDesk } from './hold-desk';
import { HoldService } from './hold.service';
import { HoldStore } from './hold.store';

const env = { MAX_SEATS_PER_RESERVATION: 4, RESERVATION_TTL_SECONDS: 600 } as Env;
const request = {
  performanceId: 7,
  quantity: 2,
  together: true,
  accessible: false,
  scope: { kind: 'section' as const, section: 'Floor' },
};

function service(...answers: HoldBestAvailableResult[]) {
  const holdBestAvailable = vi.fn();
  for (const answer of answers) holdBestAvailable.mockResolvedValueOnce(answer);
  const store = { holdBestAvailable } as unknown as HoldStore;
  return { holds: new HoldService(store, env), holdBestAvailable };
}

/** HoldService.holdBestAvailable and HoldDesk on a faked store: what each script answer becomes. */
describe('best-available holds: answers to errors', () => {
  it('answers the hold with its arrangement and seats', async () => {
    const { holds, holdBestAvailable } = service({
      outcome: 'OK',
      expiresAt: 9000,
      amount: 200,
      currency: 'KRW',
      arrangement: 'ADJACENT_ROWS',
      seatIds: [11, 21],
      seatPrices: [100, 100],
    });
    await expect(holds.holdBestAvailable('buyer', request)).resolves.toMatchObject({
      seatIds: [11, 21],
      arrangement: 'ADJACENT_ROWS',
      amount: 200,
      status: 'HELD',
    });
    expect(holdBestAvailable).toHaveBeenCalledWith(
      expect.objectContaining({ quantity: 2, userLimit: 4, lifetimeMs: 600_000, scope: request.scope }),
    );
  });

  it('refuses a quantity outside 1…the limit before asking Redis: not a whole number of seats is a 400, more than the limit the 409 of a seat-id hold', async () => {
    const { holds, holdBestAvailable } = service();
    for (const quantity of [0, 1.5]) {
      await expect(holds.holdBestAvailable('buyer', { ...request, quantity })).rejects.toMatchObject({
        code: 'InvalidInput',
      });
    }
    await expect(holds.holdBestAvailable('buyer', { ...request, quantity: 5 })).rejects.toMatchObject({
      code: 'HoldLimitExceeded',
      kind: 'conflict',
    });
    expect(holdBestAvailable).not.toHaveBeenCalled();
  });

  it.each([
    [{ outcome: 'NO_FIT', reason: null } as const, 'NoSeatsFit', 'conflict'],
    [{ outcome: 'NO_FIT', reason: 'SINGLE_LEFT' } as const, 'NoSeatsFit', 'conflict'],
    [{ outcome: 'NO_FIT', reason: 'SOLD_OUT' } as const, 'NoSeatsFit', 'conflict'],
    [{ outcome: 'NO_FIT', reason: 'ACCESSIBLE_ONLY' } as const, 'NoSeatsFit', 'conflict'],
    [{ outcome: 'LIMIT', alreadyHeld: 3 } as const, 'HoldLimitExceeded', 'conflict'],
    [{ outcome: 'UNKNOWN_SECTION' } as const, 'NotFound', 'not_found'],
    [{ outcome: 'UNKNOWN_GRADE' } as const, 'NotFound', 'not_found'],
    [{ outcome: 'SALES_CLOSED', reason: 'PAUSED' } as const, 'SalesClosed', 'conflict'],
    [{ outcome: 'SALES_NOT_OPEN', salesOpenAt: 5 } as const, 'SalesNotOpen', 'forbidden'],
  ])('maps %o to %s', async (answer, code, kind) => {
    await expect(service(answer).holds.holdBestAvailable('buyer', request)).rejects.toMatchObject({ code, kind });
  });

  it.each([
    { outcome: 'NO_PERFORMANCE' },
    { outcome: 'NO_LAYOUT' },
    { outcome: 'SALES_NOT_OPEN', salesOpenAt: 5 },
    { outcome: 'PRESALE_CODE_REQUIRED', salesOpenAt: 5, presales: [{ id: '1', name: 'Fans' }] },
    { outcome: 'ACCESS_CODE_INVALID' },
    { outcome: 'ACCESS_CODE_ATTEMPTS', retryAfterMs: 61_500 },
    { outcome: 'SALES_CLOSED', reason: 'PAUSED' },
    { outcome: 'LIMIT', alreadyHeld: 3 },
    { outcome: 'TICKET_LIMIT', limit: 4, bought: 2, held: 1 },
    { outcome: 'KEY_REUSED' },
  ] as const)('a refusal both hold scripts answer, %o, is the same error from a seat-id hold', async (answer) => {
    const hold = vi.fn().mockResolvedValue(answer);
    const holds = new HoldService(
      { hold, holdBestAvailable: vi.fn().mockResolvedValue(answer) } as unknown as HoldStore,
      env,
    );
    const seatIds = [11, 12];
    const bySeats = await holds.hold('buyer', 7, seatIds).catch((error: unknown) => error);
    const best = await holds.holdBestAvailable('buyer', request).catch((error: unknown) => error);
    expect(hold).toHaveBeenCalled();
    expect(bySeats).toBeInstanceOf(Error);
    // The same error, its message and details alike (both ask for 2 seats, under the same limit).
    expect(bySeats).toEqual(best);
    expect(bySeats).toMatchObject({ code: (best as Error).name, details: (best as { details?: unknown }).details });
  });

  it("NO_FIT's reason becomes the message and details, the scope named when sold out", async () => {
    await expect(
      service({ outcome: 'NO_FIT', reason: 'SOLD_OUT' }).holds.holdBestAvailable('buyer', request),
    ).rejects.toMatchObject({
      message:
        'no seats are free: every seat of this performance in section Floor is sold, held or blocked (off sale) (held seats come back when their holds end)',
      details: { quantity: 2, together: true, accessible: false, soldOut: true },
    });
    await expect(
      service({ outcome: 'NO_FIT', reason: 'SINGLE_LEFT' }).holds.holdBestAvailable('buyer', request),
    ).rejects.toMatchObject({ details: { singleLeft: true } });
  });

  it('HoldDesk builds missing seating data once and asks again; other refusals pass through', async () => {
    const { holds, holdBestAvailable } = service(
      { outcome: 'NO_LAYOUT' },
      {
        outcome: 'OK',
        expiresAt: 9000,
        amount: 200,
        currency: 'KRW',
        arrangement: 'TOGETHER',
        seatIds: [1, 2],
        seatPrices: [100, 100],
      },
    );
    const ensureSeating = vi.fn(async () => undefined);
    const desk = new HoldDesk(holds, { ensureSeating } as unknown as SeatStateRebuilder);
    await expect(desk.holdBestAvailable('buyer', request)).resolves.toMatchObject({ arrangement: 'TOGETHER' });
    expect(ensureSeating).toHaveBeenCalledWith(7);
    expect(holdBestAvailable).toHaveBeenCalledTimes(2);

    const unknown = service({ outcome: 'UNKNOWN_SECTION' });
    const untouched = vi.fn();
    const other = new HoldDesk(unknown.holds, { ensureSeating: untouched } as unknown as SeatStateRebuilder);
    await expect(other.holdBestAvailable('buyer', request)).rejects.toBeInstanceOf(NotFoundError);
    expect(untouched).not.toHaveBeenCalled();
  });
});
