import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthEventType } from '../entities/auth-event.entity';
import { consumeToken, isLiveToken, recipientOfLiveToken } from './single-use-tokens';

const TABLE = 'password_reset_tokens';

/** A reset request as {@link PasswordResetTokensRepository.issue} stores it. */
export interface NewPasswordReset {
  /** The account's e-mail key (`emailKey` of libs/core): the one lookup of the account. */
  emailKey: string;
  /** SHA-256 (hex) of the e-mail key: how the request is recorded, never the address itself. */
  emailHash: string;
  /** A fresh UUID naming the request. */
  resetId: string;
  /** SHA-256 of the token, 64 lower-case hex digits. */
  tokenHash: string;
  expiresAt: Date;
  /** The api's time of the request: tokens that expired by then are dropped. */
  now: Date;
  /** The account's live tokens kept at most: a request past them replaces the oldest. */
  maxLiveTokens: number;
  /** Tokens issued to one account per `windowMs` at most: a request past them issues nothing. */
  maxIssued: number;
  windowMs: number;
  /**
   * Its e-mail's outbox row: the message id, routing key and body, to which the statement adds
   * `userId` (the `PasswordResetMessage` of `@app/messaging/contracts`).
   */
  message: { messageId: string; routingKey: string; payload: Record<string, unknown> };
}

/**
 * Password-reset tokens, kept as their SHA-256: a few live ones per account, each until its own
 * expiry; and every request, recorded by the hash of its e-mail key.
 */
@Injectable()
export class PasswordResetTokensRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Records the request (`password_reset_requests`, by `emailHash`) and, for the account whose
   * e-mail key is `reset.emailKey`, unless it was issued `maxIssued` tokens in the last
   * `windowMs`: stores the token (its hash and expiry) beside the account's other live ones,
   * dropping its expired ones and, past `maxLiveTokens`, its oldest; writes the e-mail's outbox row
   * and records PASSWORD_RESET_REQUESTED. Answers whether it issued a token. With no such account,
   * or past the limit, the request row is all it writes: the same statements, one commit. Request
   * rows older than a day are pruned by later requests (up to two each).
   * Requests for one e-mail key take turns (a transaction-scoped advisory lock on its hash), so
   * the limits hold under concurrency.
   */
  async issue(reset: NewPasswordReset): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('password-reset:' || $1, 0))`, [
        reset.emailHash,
      ]);
      const rows: { user_id: string }[] = await manager.query(
        `WITH request AS (INSERT INTO password_reset_requests (email_hash) VALUES ($2)),
         -- The table stays about a day deep: each request removes up to two of the oldest rows
         -- when they are older than that (two rows read by the primary key, whatever the table's size).
         pruned AS (
           DELETE FROM password_reset_requests WHERE id IN (
             SELECT id FROM (SELECT id, created_at FROM password_reset_requests ORDER BY id LIMIT 2) oldest
             WHERE created_at < now() - interval '1 day'
           )
         ),
         account AS (
           SELECT u.id FROM users u
           WHERE u.email_key = $1
             AND (SELECT count(*) FROM password_reset_tokens t
                  WHERE t.user_id = u.id AND t.created_at > now() - make_interval(secs => $12)) < $11
         ),
         dropped AS (
           DELETE FROM password_reset_tokens WHERE id IN (
             SELECT t.id FROM password_reset_tokens t JOIN account a ON a.id = t.user_id WHERE t.expires_at <= $10
             UNION ALL
             (SELECT t.id FROM password_reset_tokens t JOIN account a ON a.id = t.user_id WHERE t.expires_at > $10
              ORDER BY t.created_at DESC, t.id OFFSET $13 - 1)
           )
         ),
         token AS (
           INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at)
           SELECT $3, id, $4, $5 FROM account
           RETURNING user_id
         ),
         event AS (INSERT INTO auth_events (user_id, type) SELECT user_id, $9 FROM token),
         mail AS (
           INSERT INTO outbox (message_id, routing_key, payload)
           SELECT $6, $7, $8::jsonb || jsonb_build_object('userId', user_id) FROM token
         )
         SELECT user_id FROM token`,
        [
          reset.emailKey,
          reset.emailHash,
          reset.resetId,
          reset.tokenHash,
          reset.expiresAt,
          reset.message.messageId,
          reset.message.routingKey,
          JSON.stringify(reset.message.payload),
          AuthEventType.PasswordResetRequested,
          reset.now,
          reset.maxIssued,
          reset.windowMs / 1000,
          reset.maxLiveTokens,
        ],
      );
      return rows.length > 0;
    });
  }

  /** Whether a reset token with this hash is stored and not expired at `now` (a read, no lock). */
  isLive(tokenHash: string, now: Date): Promise<boolean> {
    return isLiveToken(this.dataSource, TABLE, tokenHash, now);
  }

  /**
   * Uses up the reset token with this hash inside the caller's transaction (see `consumeToken`):
   * the account's id, or null when the token is unknown, used or expired.
   */
  consume(tokenHash: string, now: Date, manager: EntityManager): Promise<string | null> {
    return consumeToken(manager, TABLE, tokenHash, now);
  }

  /** Where the e-mail of reset request `resetId` goes, while its token is live (see `recipientOfLiveToken`). */
  recipientOfLive(resetId: string, now: Date): Promise<{ email: string; name: string } | null> {
    return recipientOfLiveToken(this.dataSource, TABLE, resetId, now);
  }
}
