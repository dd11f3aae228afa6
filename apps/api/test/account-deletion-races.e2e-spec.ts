import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccountNoticesRepository } from '@app/database';
import { createSession, TEST_PASSWORD } from '@app/testing';
import { BuyerLiveState, HoldService, PurchaseService } from '@app/ticketing';
import { createPerformance, hold } from './purchase-helpers';
import { AdminApi, listSeats, startAdminApi } from './support/api';
import { RACE_API_ENV } from './support/races';

/**
 * An account's deletion racing its own requests (accounts trial A4), on real PostgreSQL and Redis:
 * the deletion holds the account's row (as a password reset does), ends its sessions and releases
 * its holds before it reads what the account has, so a login, refresh, hold or purchase racing it
 * either lands before (and is ended, released or refuses the deletion) or is refused.
 */
describe('account deletion races', () => {
  let { api, db, admin, call, close } = {} as AdminApi;
  let addresses = 0;
  const nextAddress = () => `10.82.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

  beforeAll(async () => {
    ({ api, db, admin, call, close } = await startAdminApi(RACE_API_ENV));
  });
  afterAll(() => close?.());
  afterEach(() => vi.restoreAllMocks());

  const deleteMe = (accessToken: string) =>
    call('DELETE', '/users/me', {
      body: { password: TEST_PASSWORD },
      headers: { authorization: `Bearer ${accessToken}`, 'x-forwarded-for': nextAddress() },
    });

  it('a login, refresh or hold racing the deletion is ended with the account or refused', async () => {
    for (let round = 0; round < 4; round++) {
      const user = await createSession(api.app);
      const show = await createPerformance(api.app, admin, 4);
      const auth = { authorization: `Bearer ${user.accessToken}` };
      const [deleted, ...raced] = await Promise.all([
        deleteMe(user.accessToken),
        ...[0, 1, 2].map(() =>
          call('POST', '/auth/login', {
            body: { email: user.email, password: TEST_PASSWORD },
            headers: { 'x-forwarded-for': nextAddress() },
          }),
        ),
        call('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } }),
        ...show.seatIds.map((seatId) =>
          call('POST', '/reservations', { body: { performanceId: show.id, seatIds: [seatId] }, headers: auth }),
        ),
      ]);
      expect(deleted.statusCode, deleted.body).toBe(204);
      for (const res of raced) {
        // Refused (401), or landed before the deletion; a hold may also find its seat taken (409: none here).
        expect([200, 201, 401], res.body).toContain(res.statusCode);
        if (res.statusCode !== 200) continue;
        // A session started before the deletion has ended with the account's others.
        const pair = res.json();
        expect(
          (await call('GET', '/users/me', { headers: { authorization: `Bearer ${pair.accessToken}` } })).statusCode,
        ).toBe(401);
        expect((await call('POST', '/auth/refresh', { body: { refreshToken: pair.refreshToken } })).statusCode).toBe(
          401,
        );
      }
      // No hold of the account is left, whether its request landed before the deletion or during it.
      expect(await api.app.get(HoldService).listLive(user.id)).toEqual([]);
      const seats = await listSeats<{ status: string }>(call, show.id);
      expect(seats.map((seat) => seat.status)).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE', 'AVAILABLE']);
    }
  });

  it('a purchase racing the deletion is sold and refuses it (409), or finds its hold released and sells nothing', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 8; round++) {
      const user = await createSession(api.app);
      const show = await createPerformance(api.app, admin, 1);
      const held = await hold(api.app, user, show.id, [show.seatIds[0]]);
      const [bought, deleted] = await Promise.all([
        call('POST', '/purchases', { session: user, body: { reservationId: held.id } }),
        deleteMe(user.accessToken),
      ]);
      outcomes.add(`${bought.statusCode}/${deleted.statusCode}`);
      expect([bought.statusCode, deleted.statusCode], `${bought.body} ${deleted.body}`).not.toEqual([201, 204]);
      const sold = await api.app.get(BuyerLiveState).unflushedPurchases(user.id);
      const [{ deleted: gone }] = (
        await db.query('SELECT deleted_at IS NOT NULL AS deleted FROM users WHERE id = $1', [user.id])
      ).rows;
      if (bought.statusCode === 201) {
        expect(deleted.statusCode, deleted.body).toBe(409);
        expect(sold).toEqual([bought.json().id]);
        expect(gone).toBe(false);
      } else {
        expect(sold).toEqual([]);
        const [seat] = await listSeats<{ status: string }>(call, show.id);
        expect(seat.status).toBe('AVAILABLE');
      }
      if (deleted.statusCode === 204) expect(gone).toBe(true);
    }
    // Which outcomes came is the scheduler's; each is one of the allowed ones above.
    expect(outcomes.size).toBeGreaterThan(0);
  });

  it('a purchase past the access check when the deletion began finds its hold released and is refused, charging nothing', async () => {
    const user = await createSession(api.app);
    const show = await createPerformance(api.app, admin, 1, { price: 700 });
    const held = await hold(api.app, user, show.id, [show.seatIds[0]]);
    // The purchase waits right past the access check (its token was good) until the deletion has
    // read what the account has, its sessions ended; the deletion waits, before its commit, for
    // the purchase's answer: the window in which a purchase could sell for an account being deleted.
    const purchases = api.app.get(PurchaseService);
    const purchase = purchases.purchase.bind(purchases);
    let reached!: () => void;
    const pastCheck = new Promise<void>((resolve) => (reached = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    vi.spyOn(purchases, 'purchase').mockImplementation(async (...args) => {
      reached();
      await gate;
      return purchase(...args);
    });
    const buying = call('POST', '/purchases', { session: user, body: { reservationId: held.id } });
    // ACCOUNT_DELETED and its notice: the deletion's last write before its commit.
    const notices = api.app.get(AccountNoticesRepository);
    const record = notices.record.bind(notices);
    vi.spyOn(notices, 'record').mockImplementation(async (notice, manager) => {
      if (notice.kind === 'account-deleted') {
        open();
        await buying;
      }
      return record(notice, manager);
    });
    await pastCheck;

    const deleted = await deleteMe(user.accessToken);
    const bought = await buying;
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect(bought.statusCode, bought.body).toBe(409);
    expect(await api.app.get(BuyerLiveState).unflushedPurchases(user.id)).toEqual([]);
    // Refused before its charge (the hold was released when it claimed it), or refunded after it.
    const attempts = await db.query(`SELECT status FROM payment_attempts WHERE user_id = $1 AND status <> 'REFUNDED'`, [
      user.id,
    ]);
    expect(attempts.rows).toEqual([]);
    const [seat] = await listSeats<{ status: string }>(call, show.id);
    expect(seat.status).toBe('AVAILABLE');
  });
});
