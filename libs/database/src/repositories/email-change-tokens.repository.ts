import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { emailKey } from '@app/core';
import { AuthEventType } from '../entities/auth-event.entity';
import { consumeToken, issueToken, secondsUntilIssuable, SingleUseTokenRequest } from './single-use-tokens';

const TABLE = 'email_change_tokens';

/**
 * A change request as {@link EmailChangeTokensRepository.issue} stores it; its `message` is an
 * `EmailChangeMessage` of `@app/messaging/contracts`.
 */
export interface NewEmailChange extends SingleUseTokenRequest {
  userId: string;
  /** A fresh UUID naming the request. */
  changeId: string;
  /** The new address, normalized as an account's (what mail is sent to). */
  newEmail: string;
}

/**
 * What {@link EmailChangeTokensRepository.issue} did: `issued` a token (and its e-mail); nothing
 * because the account does not exist (`no-account`) or was asked for `maxIssued` changes in the
 * window (`limited`, with the seconds until it may ask again).
 */
export type EmailChangeIssue = { outcome: 'issued' | 'no-account' } | { outcome: 'limited'; retryAfterSeconds: number };

/** A live change token's account, with what proves its owner, and the address the token confirms. */
export interface EmailChangeHolder {
  userId: string;
  /** The account's address now (the key of its password attempts). */
  email: string;
  passwordHash: string;
  newEmail: string;
}

/**
 * Tokens confirming a new e-mail address of an account, kept as their SHA-256 with that address: a
 * few live ones per account, each until its own expiry (see `single-use-tokens`).
 */
@Injectable()
export class EmailChangeTokensRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * For account `request.userId`, unless it was asked for `maxIssued` changes in the last
   * `windowMs`: stores the token (its hash, expiry and new address) beside the account's other live
   * ones, writes the e-mail's outbox row and records EMAIL_CHANGE_REQUESTED, inside `manager`'s
   * transaction (the caller's, which queues the notice to the old address with it). Requests of
   * one account take turns on its row (FOR NO KEY UPDATE), so the limits hold under concurrency.
   */
  async issue(request: NewEmailChange, manager: EntityManager): Promise<EmailChangeIssue> {
    const account: unknown[] = await manager.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [
      request.userId,
    ]);
    if (account.length === 0) return { outcome: 'no-account' };
    const event = AuthEventType.EmailChangeRequested;
    const issued = await issueToken(
      manager,
      TABLE,
      { select: 'SELECT $1::uuid AS id', parameters: [request.userId] },
      { ...request, id: request.changeId, event },
      { new_email: request.newEmail, new_email_key: emailKey(request.newEmail) },
    );
    if (issued) return { outcome: 'issued' };
    const wait = await secondsUntilIssuable(manager, request.userId, event, request);
    return { outcome: 'limited', retryAfterSeconds: wait ?? Math.ceil(request.windowMs / 1000) };
  }

  /**
   * The account a live change token with this hash belongs to, with what proves its owner and the
   * address it confirms; null when the token is unknown, used, replaced or expired at `now`. A
   * read, no lock: {@link consume} decides.
   */
  async holderOfLive(tokenHash: string, now: Date): Promise<EmailChangeHolder | null> {
    const rows: { id: string; email: string; password_hash: string; new_email: string }[] = await this.dataSource.query(
      `SELECT u.id, u.email, u.password_hash, t.new_email FROM ${TABLE} t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = $1 AND t.expires_at > $2`,
      [tokenHash, now],
    );
    const row = rows[0];
    return row ? { userId: row.id, email: row.email, passwordHash: row.password_hash, newEmail: row.new_email } : null;
  }

  /**
   * Uses up the change token with this hash (with every other change token of its account) and
   * sets the address it confirms on the account, marked verified at `now`, inside the caller's
   * transaction. The account's row is locked first (see `consumeToken`). Changing `users.email`
   * fires `users_email_change_unverifies` (the account's verification and reset tokens, mailed to
   * the old address, stop working; its change tokens are gone already); the address is then
   * verified: the token came to its inbox.
   * Answers the account's id, its old and its new address; null when the token is unknown, used
   * (or another of the account's was), replaced or expired. Throws the unique violation of
   * `users_email_key_key` when another account has the address now (the caller rolls back).
   */
  async consume(
    tokenHash: string,
    now: Date,
    manager: EntityManager,
  ): Promise<{ userId: string; oldEmail: string; newEmail: string } | null> {
    const found: { new_email: string; new_email_key: string }[] = await manager.query(
      `SELECT new_email, new_email_key FROM ${TABLE} WHERE token_hash = $1`,
      [tokenHash],
    );
    if (!found[0]) return null;
    const userId = await consumeToken(manager, TABLE, tokenHash, now);
    if (!userId) return null;
    const old: { email: string }[] = await manager.query('SELECT email FROM users WHERE id = $1', [userId]);
    await manager.query('UPDATE users SET email = $2, email_key = $3, updated_at = now() WHERE id = $1', [
      userId,
      found[0].new_email,
      found[0].new_email_key,
    ]);
    // After the trigger, which unverified the account for the change.
    await manager.query('UPDATE users SET email_verified_at = $2 WHERE id = $1', [userId, now]);
    return { userId, oldEmail: old[0].email, newEmail: found[0].new_email };
  }

  /** Voids every change token of account `userId` inside the caller's transaction (its password changed). */
  async voidAll(userId: string, manager: EntityManager): Promise<void> {
    await manager.query(`DELETE FROM ${TABLE} WHERE user_id = $1`, [userId]);
  }

  /**
   * Where the e-mail of change request `changeId` goes: the new address, while its token is live
   * at `now`; null once it (or another of the account's) was used, it was replaced, voided or expired.
   */
  async recipientOfLive(changeId: string, now: Date): Promise<{ email: string } | null> {
    const rows: { email: string }[] = await this.dataSource.query(
      `SELECT new_email AS email FROM ${TABLE} WHERE id = $1 AND expires_at > $2`,
      [changeId, now],
    );
    return rows[0] ?? null;
  }
}
