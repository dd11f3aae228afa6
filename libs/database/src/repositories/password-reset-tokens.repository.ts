import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthEventType } from '../entities/auth-event.entity';

/** A reset request as {@link PasswordResetTokensRepository.issue} stores it. */
export interface NewPasswordReset {
  /** The account's e-mail key (`emailKey` of libs/core): the one lookup of the account. */
  emailKey: string;
  /** A fresh UUID naming the request. */
  resetId: string;
  /** SHA-256 of the token, 64 lower-case hex digits. */
  tokenHash: string;
  expiresAt: Date;
  /**
   * Its e-mail's outbox row: the message id, routing key and body, to which the statement adds
   * `userId` (the `PasswordResetMessage` of `@app/messaging/contracts`).
   */
  message: { messageId: string; routingKey: string; payload: Record<string, unknown> };
}

/** Password-reset tokens: at most one live token per account, kept as its SHA-256. */
@Injectable()
export class PasswordResetTokensRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * In one statement, for the account whose e-mail key is `reset.emailKey`: stores the token (its
   * hash and expiry) in place of any earlier one of the account (which stops working), writes the
   * e-mail's outbox row and records PASSWORD_RESET_REQUESTED. With no such account it writes
   * nothing, and runs the same statement, so the two cases cost PostgreSQL alike.
   */
  async issue(reset: NewPasswordReset): Promise<void> {
    await this.dataSource.query(
      `WITH account AS (SELECT id FROM users WHERE email_key = $1),
       token AS (
         INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at)
         SELECT $2, id, $3, $4 FROM account
         ON CONFLICT (user_id) DO UPDATE
           SET id = EXCLUDED.id, token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at, created_at = now()
         RETURNING user_id
       ),
       event AS (INSERT INTO auth_events (user_id, type) SELECT user_id, $8 FROM token)
       INSERT INTO outbox (message_id, routing_key, payload)
       SELECT $5, $6, $7::jsonb || jsonb_build_object('userId', user_id) FROM token`,
      [
        reset.emailKey,
        reset.resetId,
        reset.tokenHash,
        reset.expiresAt,
        reset.message.messageId,
        reset.message.routingKey,
        JSON.stringify(reset.message.payload),
        AuthEventType.PasswordResetRequested,
      ],
    );
  }

  /** Whether a token with this hash is stored and not expired at `now` (a read, no lock). */
  async isLive(tokenHash: string, now: Date): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      'SELECT 1 FROM password_reset_tokens WHERE token_hash = $1 AND expires_at > $2',
      [tokenHash, now],
    );
    return rows.length > 0;
  }

  /**
   * Uses up the token with this hash, if it is stored and not expired at `now`: deletes it inside
   * the caller's transaction and answers its account's id; null otherwise. Of two transactions
   * consuming one token at once, the second waits for the first: its commit leaves the second
   * nothing (null), its rollback lets the second have it.
   */
  async consume(tokenHash: string, now: Date, manager: EntityManager): Promise<string | null> {
    // Through a CTE: TypeORM answers a bare DELETE … RETURNING as [rows, count].
    const rows: { user_id: string }[] = await manager.query(
      `WITH used AS (DELETE FROM password_reset_tokens WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id)
       SELECT user_id FROM used`,
      [tokenHash, now],
    );
    return rows[0]?.user_id ?? null;
  }

  /**
   * Where the e-mail of reset request `resetId` goes: its account's address and name, while the
   * request is the account's live one at `now`; null once it was used, replaced by a newer request,
   * or expired (its e-mail would carry a token that no longer works).
   */
  async recipientOfLive(resetId: string, now: Date): Promise<{ email: string; name: string } | null> {
    const rows: { email: string; name: string }[] = await this.dataSource.query(
      `SELECT u.email, u.name FROM password_reset_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.id = $1 AND t.expires_at > $2`,
      [resetId, now],
    );
    return rows[0] ?? null;
  }
}
