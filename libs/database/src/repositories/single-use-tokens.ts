import { DataSource, EntityManager } from 'typeorm';
import type { AuthEventType } from '../entities/auth-event.entity';

/**
 * The tables of single-use tokens mailed to an account, each kept as its SHA-256: the same
 * columns (`id`, `user_id`, `token_hash`, `expires_at`, `created_at`) and the same life (a few
 * live per account; using one deletes them all). Names from this list only, never from input.
 */
export type SingleUseTokenTable = 'password_reset_tokens' | 'email_verification_tokens' | 'email_change_tokens';

/** What every single-use token request stores and limits, whatever its kind (see {@link issueToken}). */
export interface SingleUseTokenRequest {
  /** SHA-256 of the token, 64 lower-case hex digits. */
  tokenHash: string;
  expiresAt: Date;
  /** The api's time of the request: tokens that expired by then are dropped. */
  now: Date;
  /** The account's live tokens kept at most: a request past them replaces the oldest. */
  maxLiveTokens: number;
  /**
   * Tokens issued to one account per `windowMs` (milliseconds) at most: a request past them issues
   * nothing. Counted from the account's `auth_events` of the token's kind (one per token issued), so
   * the count survives the tokens themselves: using one (which deletes them all), their expiry, or a
   * change of e-mail does not start the window again.
   */
  maxIssued: number;
  windowMs: number;
  /**
   * Its e-mail's outbox row: the message id, routing key and body, to which the statement adds
   * `userId` (the message contract of the token's kind in `@app/messaging/contracts`).
   */
  message: { messageId: string; routingKey: string; payload: Record<string, unknown> };
}

/**
 * How {@link issueToken} finds the account, in SQL of the caller's (never built from input):
 * `select`, a SELECT answering the account's `id` (uuid) in one row, or no row when there is no
 * such account; `prelude`, CTEs (`name AS (…)`, comma-separated) put before it in the same
 * statement, for what the request writes whatever the account; both numbering `parameters` $1, $2….
 */
export interface TokenAccountQuery {
  prelude?: string;
  select: string;
  parameters: unknown[];
}

/**
 * Issues a token of `table` to the account `account` finds, in one statement inside `manager`'s
 * transaction, unless the account was issued `request.maxIssued` tokens in the last
 * `request.windowMs`: stores the token (row id `id`, its hash and expiry) beside the account's
 * other live ones, dropping its expired ones and, past `maxLiveTokens`, its oldest; writes the
 * e-mail's outbox row (its payload with the account's `userId` added) and records auth event
 * `event`. Answers whether it issued a token: false with no account or past the limit, when the
 * statement wrote only what `account.prelude` writes (the same statement either way). The limits
 * hold under concurrency only while the caller's requests for one account take turns (a row or
 * advisory lock taken before). `columns`: more columns of `table` to set on the token's row, by
 * name (from code, never from input) with their values.
 */
export async function issueToken(
  manager: EntityManager,
  table: SingleUseTokenTable,
  account: TokenAccountQuery,
  token: SingleUseTokenRequest & { id: string; event: AuthEventType },
  columns: Record<string, unknown> = {},
): Promise<boolean> {
  // The shared parameters follow the account's: `at(1)` is the first of them.
  const at = (i: number): string => `$${account.parameters.length + i}`;
  const extra = Object.keys(columns);
  const extraNames = extra.map((name) => `, ${name}`).join('');
  const extraValues = extra.map((_name, i) => `, ${at(12 + i)}`).join('');
  const rows: { user_id: string }[] = await manager.query(
    `WITH ${account.prelude ? `${account.prelude},` : ''}
     found AS (${account.select}),
     -- Counted from the account's auth events, which stay, not from its tokens, which a confirm,
     -- an expiry or a change of e-mail deletes: the limit must not restart with them.
     account AS (
       SELECT f.id FROM found f
       WHERE (SELECT count(*) FROM auth_events e
              WHERE e.user_id = f.id AND e.type = ${at(8)}
                AND e.created_at > now() - make_interval(secs => ${at(1)})) < ${at(2)}
     ),
     dropped AS (
       DELETE FROM ${table} WHERE id IN (
         SELECT t.id FROM ${table} t JOIN account a ON a.id = t.user_id WHERE t.expires_at <= ${at(3)}
         UNION ALL
         (SELECT t.id FROM ${table} t JOIN account a ON a.id = t.user_id WHERE t.expires_at > ${at(3)}
          ORDER BY t.created_at DESC, t.id OFFSET ${at(4)} - 1)
       )
     ),
     token AS (
       INSERT INTO ${table} (id, user_id, token_hash, expires_at${extraNames})
       SELECT ${at(5)}, id, ${at(6)}, ${at(7)}${extraValues} FROM account
       RETURNING user_id
     ),
     event AS (INSERT INTO auth_events (user_id, type) SELECT user_id, ${at(8)} FROM token),
     mail AS (
       INSERT INTO outbox (message_id, routing_key, payload)
       SELECT ${at(9)}, ${at(10)}, ${at(11)}::jsonb || jsonb_build_object('userId', user_id) FROM token
     )
     SELECT user_id FROM token`,
    [
      ...account.parameters,
      token.windowMs / 1000,
      token.maxIssued,
      token.now,
      token.maxLiveTokens,
      token.id,
      token.tokenHash,
      token.expiresAt,
      token.event,
      token.message.messageId,
      token.message.routingKey,
      JSON.stringify(token.message.payload),
      ...Object.values(columns),
    ],
  );
  return rows.length > 0;
}

/**
 * Seconds (1 or more, rounded up) until account `userId`, refused by {@link issueToken} for having
 * been issued `maxIssued` tokens of auth event `event`'s kind in the last `windowMs` milliseconds,
 * may be issued one again: when the `maxIssued`-th newest of those events leaves the window. Read
 * on the database's clock with issueToken's count; call it in the transaction of the refused
 * issueToken, under the same lock, so no request of the account comes between. Null when the
 * account is within the limit.
 */
export async function secondsUntilIssuable(
  manager: EntityManager,
  userId: string,
  event: AuthEventType,
  limit: Pick<SingleUseTokenRequest, 'maxIssued' | 'windowMs'>,
): Promise<number | null> {
  const rows: { seconds: number }[] = await manager.query(
    `SELECT ceil(extract(epoch FROM e.created_at + make_interval(secs => $3) - now()))::int AS seconds
     FROM auth_events e
     WHERE e.user_id = $1 AND e.type = $2 AND e.created_at > now() - make_interval(secs => $3)
     ORDER BY e.created_at DESC OFFSET $4 - 1 LIMIT 1`,
    [userId, event, limit.windowMs / 1000, limit.maxIssued],
  );
  return rows[0]?.seconds ?? null;
}

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
 * Where the e-mail of token request `id` of `table` goes: its account's address, while
 * the request's token is live at `now`; null once it (or another token of the account) was used,
 * it was replaced as the oldest of too many, or expired (its e-mail would carry a token that no
 * longer works).
 */
export async function recipientOfLiveToken(
  db: DataSource,
  table: SingleUseTokenTable,
  id: string,
  now: Date,
): Promise<{ email: string } | null> {
  const rows: { email: string }[] = await db.query(
    `SELECT u.email FROM ${table} t JOIN users u ON u.id = t.user_id WHERE t.id = $1 AND t.expires_at > $2`,
    [id, now],
  );
  return rows[0] ?? null;
}
