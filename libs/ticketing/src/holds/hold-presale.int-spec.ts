import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawHall, hallRegistration } from '../../test/halls';
import { seatRange, TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { AccessCodeInvalidError, PresaleNotOpenError, SalesNotOpenError } from '../errors';
import { PRESALE_MISS_LIMIT, accessCodeDigest } from '../presales/access-code';
import { PresaleWindow } from '../presales/presale-fields';
import { PresaleStore } from '../presales/presale.store';
import { performanceKeys } from '../redis-keys';

/** Redis TIME in epoch ms: the clock the hold scripts compare presale windows with. */
async function redisNow(fx: TicketingFixture): Promise<number> {
  const [seconds, micros] = (await fx.redis.time()).map(Number);
  return seconds * 1000 + Math.floor(micros / 1000);
}

/** The error `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('the hold was made'),
    (error: unknown) => error,
  );
}

/**
 * The presale check in the hold scripts themselves (hold-seats.lua, hold-best-available.lua, the
 * hold-taking include's presaleRefusal and accessCodeArg): read from the meta hash before
 * salesOpenAt only, by Redis TIME; a code of a presale not open now lets nothing in; a refused
 * hold changes nothing; the hold records its presale.
 */
describe('hold scripts before the on-sale, with presales', () => {
  let fx: TicketingFixture;
  let nextPerformance = 1;

  beforeAll(() => {
    fx = ticketingFixture({ RESERVATION_TTL_SECONDS: '300', MAX_SEATS_PER_RESERVATION: '4' });
  });
  afterAll(async () => {
    await fx.close();
  });

  /** A presale of `performanceId` with code `code`, its window given as offsets from `now` (ms). */
  function presale(
    performanceId: number,
    id: string,
    name: string,
    now: number,
    from: number,
    to: number,
    code: string,
  ) {
    return {
      id,
      name,
      opensAt: new Date(now + from),
      closesAt: new Date(now + to),
      codeDigest: accessCodeDigest(performanceId, code),
    } satisfies PresaleWindow;
  }

  it('lets only the code of a presale open now in, by seat ids, and records the presale on the hold', async () => {
    const performanceId = nextPerformance++;
    const now = await redisNow(fx);
    const presales = [
      presale(performanceId, '11', 'Fans: the "early" one', now, -60_000, 1_800_000, 'FANS-1'),
      presale(performanceId, '12', 'Later', now, 1_800_000, 3_600_000, 'LATER-1'),
    ];
    await fx.store.registerPerformance({
      performanceId,
      salesOpenAt: new Date(now + 3_600_000),
      currency: 'KRW',
      seats: seatRange(6),
      presales,
    });
    const keys = performanceKeys(performanceId);
    expect(await fx.redis.hget(keys.meta, 'presale:11')).toBe(
      `${now - 60_000}:${now + 1_800_000}:${presales[0].codeDigest}:Fans: the "early" one`,
    );
    const before = await fx.truth(performanceId);

    const missing = await refusal(fx.holds.hold('alice', performanceId, [1]));
    expect(missing).toBeInstanceOf(SalesNotOpenError);
    expect((missing as SalesNotOpenError).details).toEqual({
      salesOpenAt: new Date(now + 3_600_000).toISOString(),
      presales: [{ id: '11', name: 'Fans: the "early" one' }],
    });
    // A wrong code, and the code of a presale not open yet (told when it opens): nothing held.
    expect(await refusal(fx.holds.hold('alice', performanceId, [1], undefined, 'FANS-2'))).toBeInstanceOf(
      AccessCodeInvalidError,
    );
    const early = await refusal(fx.holds.hold('alice', performanceId, [1], undefined, 'later-1'));
    expect(early).toBeInstanceOf(PresaleNotOpenError);
    expect((early as PresaleNotOpenError).details).toEqual({
      code: 'PresaleNotOpen',
      presale: {
        id: '12',
        name: 'Later',
        opensAt: new Date(now + 1_800_000).toISOString(),
        closesAt: new Date(now + 3_600_000).toISOString(),
      },
    });
    expect(await fx.truth(performanceId)).toEqual(before);

    const held = await fx.holds.hold('alice', performanceId, [1, 2], undefined, 'fans-1');
    expect(held).toMatchObject({ status: 'HELD', seatIds: [1, 2] });
    expect(await fx.redis.hget(keys.hold(held.id), 'presale')).toBe('11');
    const { stored, recomputed } = await fx.truth(performanceId);
    expect(stored).toEqual({ total: 6, available: 4, held: 2, sold: 0, blocked: 0 });
    expect(stored).toEqual(recomputed);
    // The limits still apply: 2 held + 3 asked > 4.
    await expect(fx.holds.hold('alice', performanceId, [3, 4, 5], undefined, 'FANS-1')).rejects.toMatchObject({
      code: 'HoldLimitExceeded',
    });
  });

  it('counts no miss for the right code tried before its presale opens, by seat ids and best available (presale trial 2026-12-07)', async () => {
    const performanceId = nextPerformance++;
    const now = await redisNow(fx);
    const drawn = drawHall([{ name: 'A', rows: ['......'] }]);
    await fx.store.registerPerformance({
      ...hallRegistration(performanceId, drawn),
      salesOpenAt: new Date(now + 3_600_000),
      presales: [
        presale(performanceId, '51', 'Fan club', now, -60_000, 1_800_000, 'FANS-5'),
        presale(performanceId, '52', 'Card holders', now, 600_000, 1_800_000, 'CARDS-5'),
        presale(performanceId, '53', 'Over', now, -120_000, -60_000, 'OVER-5'),
      ],
    });
    const request = { performanceId, quantity: 1, together: true, accessible: false, scope: { kind: 'all' as const } };
    // A fan refreshing before the card holders' hour, more often than the miss limit allows wrong codes.
    for (let i = 0; i < PRESALE_MISS_LIMIT; i++) {
      expect(
        await refusal(fx.holds.hold('erin', performanceId, [drawn.places[0].id], undefined, 'cards-5')),
      ).toMatchObject({
        code: 'PresaleNotOpen',
        details: { presale: { id: '52', name: 'Card holders' } },
      });
      expect(await refusal(fx.holds.holdBestAvailable('erin', { ...request, accessCode: 'OVER-5' }))).toMatchObject({
        code: 'PresaleNotOpen',
        details: { presale: { id: '53', name: 'Over' } },
      });
    }
    expect(await fx.redis.exists(performanceKeys(performanceId).presaleMisses('erin'))).toBe(0);
    // Not locked out: the open presale's code still holds.
    const held = await fx.holds.holdBestAvailable('erin', { ...request, accessCode: 'fans-5' });
    expect(held.seatIds).toHaveLength(1);
  });

  it('checks best-available holds alike', async () => {
    const performanceId = nextPerformance++;
    const now = await redisNow(fx);
    const drawn = drawHall([{ name: 'A', rows: ['....'] }]);
    const registration = hallRegistration(performanceId, drawn);
    await fx.store.registerPerformance({
      ...registration,
      salesOpenAt: new Date(now + 3_600_000),
      presales: [presale(performanceId, '21', 'Card', now, -1_000, 3_600_000, 'CARD-9')],
    });
    const request = { performanceId, quantity: 2, together: true, accessible: false, scope: { kind: 'all' as const } };
    expect(await refusal(fx.holds.holdBestAvailable('bob', request))).toMatchObject({
      code: 'SalesNotOpen',
      details: { presales: [{ id: '21', name: 'Card' }] },
    });
    expect(await refusal(fx.holds.holdBestAvailable('bob', { ...request, accessCode: 'CARD-8' }))).toBeInstanceOf(
      AccessCodeInvalidError,
    );
    const held = await fx.holds.holdBestAvailable('bob', { ...request, accessCode: 'card-9' });
    expect(held.seatIds).toHaveLength(2);
    expect(await fx.redis.hget(performanceKeys(performanceId).hold(held.id), 'presale')).toBe('21');
  });

  it('answers as before any on-sale outside every window, and ignores codes from salesOpenAt on', async () => {
    const performanceId = nextPerformance++;
    const now = await redisNow(fx);
    await fx.store.registerPerformance({
      performanceId,
      salesOpenAt: new Date(now + 3_600_000),
      currency: 'KRW',
      seats: seatRange(3),
      presales: [presale(performanceId, '31', 'Over', now, -120_000, -60_000, 'OVER-1')],
    });
    const closed = await refusal(fx.holds.hold('carol', performanceId, [1], undefined, 'OVER-1'));
    expect(closed).toBeInstanceOf(SalesNotOpenError);
    expect((closed as SalesNotOpenError).details).toEqual({ salesOpenAt: new Date(now + 3_600_000).toISOString() });

    const onSale = nextPerformance++;
    await fx.store.registerPerformance({
      performanceId: onSale,
      salesOpenAt: new Date(now - 1_000),
      currency: 'KRW',
      seats: seatRange(3),
      presales: [presale(onSale, '41', 'Before', now, -120_000, -1_000, 'BEFORE-1')],
    });
    const plain = await fx.holds.hold('carol', onSale, [1]);
    const ignored = await fx.holds.hold('dave', onSale, [2], undefined, 'no-such-code');
    expect([plain.status, ignored.status]).toEqual(['HELD', 'HELD']);
    expect(await fx.redis.hexists(performanceKeys(onSale).hold(ignored.id), 'presale')).toBe(0);
  });

  it("writes a presale only into a registered performance's meta hash (an unregistered one stays absent)", async () => {
    const store = new PresaleStore(fx.redis);
    const now = await redisNow(fx);
    const unregistered = nextPerformance++;
    const window = presale(unregistered, '21', 'Fans', now, -60_000, 1_800_000, 'FANS-CODE');
    expect(await store.put(unregistered, window)).toBe(false);
    expect(await fx.redis.exists(performanceKeys(unregistered).meta)).toBe(0);

    const registered = nextPerformance++;
    await fx.store.registerPerformance({
      performanceId: registered,
      salesOpenAt: new Date(now + 3_600_000),
      currency: 'KRW',
      seats: seatRange(2),
    });
    expect(await store.put(registered, { ...window, codeDigest: accessCodeDigest(registered, 'FANS-CODE') })).toBe(
      true,
    );
    expect(await fx.redis.hget(performanceKeys(registered).meta, 'presale:21')).toMatch(/:Fans$/);
  });
});
