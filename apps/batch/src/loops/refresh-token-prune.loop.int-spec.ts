import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefreshTokensRepository } from '@app/database';
import { FakeClock, MigratedDatabase, openMigratedDatabase, waitUntil } from '@app/testing';
import { EXPIRED_REFRESH_TOKEN_KEPT_MS, RefreshTokenPruneLoop } from './refresh-token-prune.loop';

const HOUR_MS = 3600_000;

/**
 * RefreshTokenPruneLoop on real PostgreSQL: two loops at once (two batch processes) delete every
 * token expired more than a day ago, batch after batch, and nothing else: not a token expired
 * within the day, not a live one, not a revoked one still valid; a row a refresh holds locked is
 * skipped, not waited for, and deleted by a later pass.
 */
describe('RefreshTokenPruneLoop (real PostgreSQL)', () => {
  let { db, close } = {} as MigratedDatabase;
  let userId: string;
  const now = Date.parse('2031-05-01T12:00:00Z');

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    [{ id: userId }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash)
       VALUES ('dora@example.test', 'dora@example.test', 'Dora', 'not-a-hash') RETURNING id`,
    );
  });
  afterAll(() => close?.());

  /** `count` tokens of the user expiring `expiresInMs` after `now` (negative: before), revoked when asked. */
  const insertTokens = (count: number, expiresInMs: number, revoked = false) =>
    db.query(
      `INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, revoked_at)
       SELECT gen_random_uuid(), $1, gen_random_uuid(), encode(sha256(gen_random_uuid()::text::bytea), 'hex'),
              $2::timestamptz, CASE WHEN $4 THEN $2::timestamptz - interval '1 day' END
       FROM generate_series(1, $3)`,
      [userId, new Date(now + expiresInMs), count, revoked],
    );
  const countWhere = async (condition: string) =>
    (await db.query(`SELECT count(*)::int AS n FROM refresh_tokens WHERE ${condition}`, [new Date(now)]))[0]
      .n as number;

  it('deletes every token expired more than a day ago, in batches, from two processes at once, and nothing else', async () => {
    await insertTokens(2_300, -EXPIRED_REFRESH_TOKEN_KEPT_MS - HOUR_MS);
    await insertTokens(400, -30 * 24 * HOUR_MS, true);
    await insertTokens(7, -EXPIRED_REFRESH_TOKEN_KEPT_MS + HOUR_MS);
    await insertTokens(5, 29 * 24 * HOUR_MS);
    await insertTokens(3, 10 * 24 * HOUR_MS, true);
    // A refresh of one of the old tokens holds its row: the passes skip it rather than wait.
    const locker = db.createQueryRunner();
    await locker.connect();
    await locker.startTransaction();
    const [locked] = await locker.query(
      `SELECT id FROM refresh_tokens WHERE expires_at < $1::timestamptz - interval '25 hours' LIMIT 1 FOR UPDATE`,
      [new Date(now)],
    );

    const loops = [0, 1].map(() => new RefreshTokenPruneLoop(new RefreshTokensRepository(db), new FakeClock(now)));
    try {
      for (const loop of loops) loop.start(50);
      await waitUntil(
        async () => (await countWhere(`expires_at < $1::timestamptz - interval '1 day'`)) === 1,
        'every old token but the locked one deleted',
        60_000,
      );
      expect(
        await db.query(`SELECT id FROM refresh_tokens WHERE expires_at < $1::timestamptz - interval '1 day'`, [
          new Date(now),
        ]),
      ).toEqual([{ id: locked.id }]);
      await locker.commitTransaction();
      await waitUntil(
        async () => (await countWhere(`expires_at < $1::timestamptz - interval '1 day'`)) === 0,
        'the locked token deleted once its refresh ended',
        60_000,
      );
    } finally {
      if (locker.isTransactionActive) await locker.rollbackTransaction();
      await locker.release();
      await Promise.all(loops.map((loop) => loop.stop()));
    }
    // Kept: expired within the day, live, revoked but not yet expired.
    expect(await countWhere(`expires_at >= $1::timestamptz - interval '1 day' AND expires_at < $1`)).toBe(7);
    expect(await countWhere(`expires_at >= $1 AND revoked_at IS NULL`)).toBe(5);
    expect(await countWhere(`expires_at >= $1 AND revoked_at IS NOT NULL`)).toBe(3);
  });
});
