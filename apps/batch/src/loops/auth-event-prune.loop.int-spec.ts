import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '@app/config';
import { AuthEventsRepository } from '@app/database';
import { FakeClock, MigratedDatabase, openMigratedDatabase, waitUntil } from '@app/testing';
import { AuthEventPruneLoop } from './auth-event-prune.loop';

const DAY_MS = 24 * 3600_000;

/**
 * AuthEventPruneLoop on real PostgreSQL, AUTH_EVENT_RETENTION_DAYS=90: two loops at once (two batch
 * processes) delete every event recorded more than 90 days ago, batch after batch, of any account
 * and type, and nothing younger; a row a statement holds locked is skipped, not waited for, and
 * deleted by a later pass.
 */
describe('AuthEventPruneLoop (real PostgreSQL)', () => {
  let { db, close } = {} as MigratedDatabase;
  const userIds: string[] = [];
  const now = Date.parse('2031-05-01T12:00:00Z');
  const cutoff = new Date(now - 90 * DAY_MS);

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    for (const name of ['dora', 'eve']) {
      const [{ id }] = await db.query(
        `INSERT INTO users (email, email_key, name, password_hash)
         VALUES ($1::text, $1::text, $2, 'not-a-hash') RETURNING id`,
        [`${name}@example.test`, name],
      );
      userIds.push(id);
    }
  });
  afterAll(() => close?.());

  /** `count` events of each account, of two types, recorded `ageMs` before `now`. */
  const insertEvents = (count: number, ageMs: number) =>
    db.query(
      `INSERT INTO auth_events (user_id, type, created_at)
       SELECT u, t, $2::timestamptz
       FROM unnest($1::uuid[]) AS u, unnest(ARRAY['PASSWORD_RESET_REQUESTED', 'SIGNED_UP']) AS t,
            generate_series(1, $3)`,
      [userIds, new Date(now - ageMs), count],
    );
  const countWhere = async (condition: string) =>
    (await db.query(`SELECT count(*)::int AS n FROM auth_events WHERE ${condition}`, [cutoff]))[0].n as number;

  it('deletes every event older than the retention, in batches, from two processes at once, and nothing younger', async () => {
    await insertEvents(600, 90 * DAY_MS + 3600_000); // 2,400 rows: three batches at least
    await insertEvents(10, 400 * DAY_MS);
    await insertEvents(3, 90 * DAY_MS - 3600_000);
    await insertEvents(2, 0);
    // A statement holding one old row (a cascade of an account's deletion, say): the passes skip it.
    const locker = db.createQueryRunner();
    await locker.connect();
    await locker.startTransaction();
    const [locked] = await locker.query(`SELECT id FROM auth_events WHERE created_at < $1 LIMIT 1 FOR UPDATE`, [
      cutoff,
    ]);

    const env = parseEnv({ AUTH_EVENT_RETENTION_DAYS: '90' });
    const loops = [0, 1].map(() => new AuthEventPruneLoop(new AuthEventsRepository(db), new FakeClock(now), env));
    try {
      for (const loop of loops) loop.start(50);
      await waitUntil(
        async () => (await countWhere('created_at < $1')) === 1,
        'every old event but the locked one deleted',
        60_000,
      );
      expect(await db.query(`SELECT id FROM auth_events WHERE created_at < $1`, [cutoff])).toEqual([{ id: locked.id }]);
      await locker.commitTransaction();
      await waitUntil(
        async () => (await countWhere('created_at < $1')) === 0,
        'the locked event deleted once its statement ended',
        60_000,
      );
    } finally {
      if (locker.isTransactionActive) await locker.rollbackTransaction();
      await locker.release();
      await Promise.all(loops.map((loop) => loop.stop()));
    }
    // Kept: the events within the 90 days, of both accounts and both types.
    expect(await countWhere('created_at >= $1')).toBe((3 + 2) * 2 * 2);
  });
});
