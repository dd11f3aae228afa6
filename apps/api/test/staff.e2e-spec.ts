import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TEST_PASSWORD, TestSession } from '@app/testing';
import { AdminApi, startAdminApi } from './support/api';

/**
 * The admins' management of door staff on real PostgreSQL: the list of staff accounts
 * (keyset pages), and revoking a staff role, which ends the account's sessions and makes the
 * door refuse its scans at once, though its access token still names STAFF.
 */
describe('door staff: list and revoke (admin)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let buyer: TestSession;

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi());
    buyer = await createSession(api.app);
  });
  afterAll(() => close?.());

  /** The audit log's rows about account `id` (`account:<id>`), newest first, as `[action, actorId]`. */
  async function auditOf(id: string): Promise<[string, string][]> {
    const res = await call('GET', '/admin/audit-log?limit=100', { session: admin });
    expect(res.statusCode, res.body).toBe(200);
    return res
      .json()
      .items.filter((item: { subjectId: string }) => item.subjectId === `account:${id}`)
      .map((item: { action: string; actorId: string; details: object }) => {
        expect(item.details).toEqual({ accountId: id });
        return [item.action, item.actorId];
      });
  }

  /** A new staff account, made as an admin does, and its session (logged in over HTTP). */
  async function newStaff(
    name: string,
  ): Promise<{ id: string; email: string; headers: { authorization: string }; refreshToken: string }> {
    const email = `door-${name}-${Date.now()}@example.test`;
    const created = await call('POST', '/admin/staff', {
      body: { email, password: TEST_PASSWORD, name },
      session: admin,
    });
    expect(created.statusCode, created.body).toBe(201);
    const login = await call('POST', '/auth/login', { body: { email, password: TEST_PASSWORD } });
    expect(login.statusCode, login.body).toBe(200);
    const { accessToken, refreshToken } = login.json();
    return { id: created.json().id, email, headers: { authorization: `Bearer ${accessToken}` }, refreshToken };
  }

  it('lists staff accounts oldest first in keyset pages, to admins only', async () => {
    const made = [await newStaff('a'), await newStaff('b'), await newStaff('c')];
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call('GET', `/admin/staff?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { session: admin });
      expect(page.statusCode, page.body).toBe(200);
      expect(page.json().items.length).toBeLessThanOrEqual(2);
      for (const item of page.json().items) {
        expect(item).toEqual({
          id: expect.any(String),
          email: expect.any(String),
          name: expect.any(String),
          role: 'STAFF',
          emailVerified: false,
        });
        ids.push(item.id);
      }
      cursor = page.json().nextCursor;
    } while (cursor);
    // Every staff account once, in the order they were made; no buyer or admin among them.
    expect(ids.filter((id) => made.some((staff) => staff.id === id))).toEqual(made.map((staff) => staff.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(buyer.id);
    expect(ids).not.toContain(admin.id);

    expect((await call('GET', '/admin/staff', { session: buyer })).statusCode).toBe(403);
    const zero = '00000000-0000-0000-0000-000000000000';
    const forged = (key: object) => Buffer.from(JSON.stringify(key)).toString('base64url');
    for (const cursor of [
      'bm90LWEtY3Vyc29y',
      // Dates that do not exist, in the cursor's own shape: PostgreSQL would refuse them (a 500).
      forged({ c: '2024-02-30T00:00:00.000000Z', i: zero }),
      forged({ c: '0000-01-01T00:00:00.000000Z', i: zero }),
      forged({ c: '2024-01-01T24:00:00.000000Z', i: zero }),
      forged({ c: '2024-01-01T00:00:00.000000Z', i: 'not-a-uuid' }),
    ]) {
      const badCursor = await call('GET', `/admin/staff?cursor=${cursor}`, { session: admin });
      expect(badCursor.statusCode, cursor).toBe(400);
      expect(badCursor.json().message).toBe('cursor is not valid for this list');
    }
    const valid = await call('GET', `/admin/staff?cursor=${forged({ c: '2024-02-29T23:59:59.999999Z', i: zero })}`, {
      session: admin,
    });
    expect(valid.statusCode, valid.body).toBe(200);
  });

  it('revokes a staff role: the door refuses the old token at once, its sessions end, it is a buyer now', async () => {
    const door = await newStaff('revoked');
    // Staff may use the door: a malformed code is a 400, not a 403.
    const before = await call('POST', '/check-in', { body: { code: 'not-a-code' }, headers: door.headers });
    expect(before.statusCode, before.body).toBe(400);

    expect((await call('DELETE', `/admin/staff/${door.id}`, { session: buyer })).statusCode).toBe(403);
    const revoked = await call('DELETE', `/admin/staff/${door.id}`, { session: admin });
    expect(revoked.statusCode, revoked.body).toBe(204);

    // The access token that says STAFF is refused: its session has ended.
    const after = await call('POST', '/check-in', { body: { code: 'not-a-code' }, headers: door.headers });
    expect(after.statusCode, after.body).toBe(401);
    expect(after.json().message).toMatch(/session has ended/);
    // Signed in again, a buyer: the door refuses it.
    const again = await call('POST', '/auth/login', { body: { email: door.email, password: TEST_PASSWORD } });
    expect(again.statusCode, again.body).toBe(200);
    const asBuyer = { authorization: `Bearer ${again.json().accessToken}` };
    expect((await call('POST', '/check-in', { body: { code: 'not-a-code' }, headers: asBuyer })).statusCode).toBe(403);
    expect((await call('POST', '/auth/refresh', { body: { refreshToken: door.refreshToken } })).statusCode).toBe(401);
    const listed = (await call('GET', '/admin/staff?limit=100', { session: admin })).json().items;
    expect(listed.map((item: { id: string }) => item.id)).not.toContain(door.id);

    // Again, or for a buyer or an admin: not a staff account.
    for (const id of [door.id, buyer.id, admin.id]) {
      expect((await call('DELETE', `/admin/staff/${id}`, { session: admin })).statusCode, id).toBe(404);
    }
    expect((await call('DELETE', '/admin/staff/not-a-uuid', { session: admin })).statusCode).toBe(400);
    // Who made it staff and who took the role, once each (the 403 and 404s recorded nothing).
    expect(await auditOf(door.id)).toEqual([
      ['staff.revoke', admin.id],
      ['staff.create', admin.id],
    ]);
  });

  it("makes a buyer's account door staff: its sessions end, its next login carries STAFF, the door lets it in", async () => {
    const email = `promoted-${Date.now()}@example.test`;
    const signup = await call('POST', '/auth/signup', {
      body: { email, password: TEST_PASSWORD, name: 'Promoted' },
      headers: { 'x-forwarded-for': '10.79.0.1' },
    });
    expect(signup.statusCode, signup.body).toBe(201);
    const id = signup.json().id as string;
    const first = await call('POST', '/auth/login', { body: { email, password: TEST_PASSWORD } });
    expect(first.statusCode, first.body).toBe(200);
    const asBuyer = { authorization: `Bearer ${first.json().accessToken}` };
    expect((await call('POST', '/check-in', { body: { code: 'not-a-code' }, headers: asBuyer })).statusCode).toBe(403);

    expect((await call('PUT', `/admin/staff/${id}`, { session: buyer })).statusCode).toBe(403);
    const granted = await call('PUT', `/admin/staff/${id}`, { session: admin });
    expect(granted.statusCode, granted.body).toBe(200);
    expect(granted.json()).toEqual({ id, email, name: 'Promoted', role: 'STAFF', emailVerified: false });

    // Its old session is over; a new login's token names STAFF and the door takes it.
    expect(
      (await call('POST', '/auth/refresh', { body: { refreshToken: first.json().refreshToken } })).statusCode,
    ).toBe(401);
    const second = await call('POST', '/auth/login', { body: { email, password: TEST_PASSWORD } });
    const asStaff = { authorization: `Bearer ${second.json().accessToken}` };
    expect((await call('GET', '/users/me', { headers: asStaff })).json().role).toBe('STAFF');
    const scan = await call('POST', '/check-in', { body: { code: 'not-a-code' }, headers: asStaff });
    expect(scan.statusCode, scan.body).toBe(400);
    const listed = (await call('GET', '/admin/staff?limit=100', { session: admin })).json().items;
    expect(listed.map((item: { id: string }) => item.id)).toContain(id);

    // Again: the same answer, nothing changes (the new session stays).
    const again = await call('PUT', `/admin/staff/${id}`, { session: admin });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual(granted.json());
    expect(
      (await call('POST', '/auth/refresh', { body: { refreshToken: second.json().refreshToken } })).statusCode,
    ).toBe(200);
    const events = await api.app
      .get(DataSource)
      .query(`SELECT type FROM auth_events WHERE user_id = $1 ORDER BY id`, [id]);
    expect(events.map((event: { type: string }) => event.type)).toEqual([
      'SIGNED_UP',
      'EMAIL_VERIFICATION_REQUESTED',
      'STAFF_GRANTED',
    ]);
    // The grant in the audit log once: the repeat changed nothing and recorded nothing.
    expect(await auditOf(id)).toEqual([['staff.grant', admin.id]]);
  });

  it('refuses to make an admin staff (409), and answers 404 for no account and 400 for a bad id', async () => {
    const refused = await call('PUT', `/admin/staff/${admin.id}`, { session: admin });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().message).toBe('an admin account cannot be made door staff');
    expect((await call('GET', '/users/me', { session: admin })).json().role).toBe('ADMIN');
    const missing = await call('PUT', '/admin/staff/00000000-0000-4000-8000-000000000000', { session: admin });
    expect(missing.statusCode, missing.body).toBe(404);
    expect(missing.json().message).toBe('account not found');
    expect((await call('PUT', '/admin/staff/not-a-uuid', { session: admin })).statusCode).toBe(400);
    expect(
      (await call('PUT', `/admin/staff/${buyer.id}`, { session: admin, body: { role: 'ADMIN' } })).statusCode,
    ).toBe(400);
  });
});
