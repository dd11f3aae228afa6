import { DataSource, EntityManager } from 'typeorm';

/**
 * The tables of single-use tokens mailed to an account, each kept as its SHA-256: the same
 * columns (`id`, `user_id`, `token_hash`, `expires_at`, `created_at`) and the same life (a few
 * live per account; using one deletes them all). Names from this list only, never from input.
 */
export type SingleUseTokenTable = 'password_reset_tokens' | 'email_verification_tokens';

/** Whether `table` stores a token with this hash that is not expired at `now` (a read, no lock). */
export async function isLiveToken(
  db: DataSource | EntityManager,
  table: SingleUseTokenTable,
  tokenHash: string,
  now: Date,
): Promise<boolean> {
  const rows: unknown[] = await db.query(`SELECT 1 FROM ${table} WHERE token_hash = $1 AND expires_at > $2`, [
    tokenHash,
    now,
  ]);
  return rows.length > 0;
}

/**
 * Uses up the token of `table` with this hash, if it is stored and not expired at `now`, inside
 * the caller's transaction: locks its account's row (FOR NO KEY UPDATE, as the caller's UPDATE of
 * the account would), deletes every token of the account in `table` and answers the account's id;
 * null otherwise. Of two transactions consuming tokens of one account at once, the second waits
 * for the first: its commit leaves the second nothing (null), its rollback lets the second have it.
 */
export async function consumeToken(
  manager: EntityManager,
  table: SingleUseTokenTable,
  tokenHash: string,
  now: Date,
): Promise<string | null> {
  const found: { user_id: string }[] = await manager.query(`SELECT user_id FROM ${table} WHERE token_hash = $1`, [
    tokenHash,
  ]);
  const userId = found[0]?.user_id;
  if (!userId) return null;
  // The account first, then its tokens: two confirms with two tokens of one account take turns
  // there instead of each holding one token row and waiting for the other's.
  await manager.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
  // Through a CTE: TypeORM answers a bare DELETE … RETURNING as [rows, count].
  const rows: { user_id: string }[] = await manager.query(
    `WITH used AS (
       DELETE FROM ${table} WHERE token_hash = $1 AND user_id = $3 AND expires_at > $2 RETURNING user_id
     ),
     others AS (DELETE FROM ${table} WHERE user_id IN (SELECT user_id FROM used) AND token_hash <> $1)
     SELECT user_id FROM used`,
    [tokenHash, now, userId],
  );
  return rows[0]?.user_id ?? null;
}

/**
 * Where the e-mail of token request `id` of `table` goes: its account's address and name, while
 * the request's token is live at `now`; null once it (or another token of the account) was used,
 * it was replaced as the oldest of too many, or expired (its e-mail would carry a token that no
 * longer works).
 */
export async function recipientOfLiveToken(
  db: DataSource,
  table: SingleUseTokenTable,
  id: string,
  now: Date,
): Promise<{ email: string; name: string } | null> {
  const rows: { email: string; name: string }[] = await db.query(
    `SELECT u.email, u.name FROM ${table} t JOIN users u ON u.id = t.user_id WHERE t.id = $1 AND t.expires_at > $2`,
    [id, now],
  );
  return rows[0] ?? null;
}
