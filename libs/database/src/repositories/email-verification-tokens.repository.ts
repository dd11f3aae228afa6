import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthEventType } from '../entities/auth-event.entity';
import {
  consumeToken,
  issueToken,
  recipientOfLiveToken,
  secondsUntilIssuable,
  SingleUseTokenRequest,
} from './single-use-tokens';

const TABLE = 'email_verification_tokens';

/**
 * A verification request as {@link EmailVerificationTokensRepository.issue} stores it; its
 * `message` is an `EmailVerificationMessage` of `@app/messaging/contracts`.
 */
export interface NewEmailVerification extends SingleUseTokenRequest {
  userId: string;
  /** A fresh UUID naming the request. */
  verificationId: string;
}

/**
 * What {@link EmailVerificationTokensRepository.issue} did: `issued` a token (and its e-mail);
 * nothing because the account is `verified` already, does not exist (`no-account`), or was issued
 * `maxIssued` tokens in the window (`limited`, with the seconds until it may be issued one again).
 */
export type EmailVerificationIssue =
  { outcome: 'issued' | 'verified' | 'no-account' } | { outcome: 'limited'; retryAfterSeconds: number };

/** E-mail verification tokens, kept as their SHA-256: a few live ones per account, each until its own expiry. */
@Injectable()
export class EmailVerificationTokensRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * For account `request.userId`, unless it is verified or was issued `maxIssued` tokens in the
   * last `windowMs`: stores the token (its hash and expiry) beside the account's other live ones,
   * dropping its expired ones and, past `maxLiveTokens`, its oldest; writes the e-mail's outbox row
   * and records EMAIL_VERIFICATION_REQUESTED; past the limit it writes nothing and answers the
   * seconds until a token may be issued again (see `secondsUntilIssuable`). In `manager`'s
   * transaction when given (signup's, so an account never exists without its first e-mail on its
   * way), else in one of its own. Requests
   * of one account take turns on its row (FOR NO KEY UPDATE, as a confirm does), so the limits hold
   * under concurrency and no token is issued to an account a concurrent confirm just verified.
   */
  issue(request: NewEmailVerification, manager?: EntityManager): Promise<EmailVerificationIssue> {
    const work = async (m: EntityManager): Promise<EmailVerificationIssue> => {
      const account: { verified: boolean }[] = await m.query(
        'SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE id = $1 FOR NO KEY UPDATE',
        [request.userId],
      );
      if (!account[0]) return { outcome: 'no-account' };
      if (account[0].verified) return { outcome: 'verified' };
      const event = AuthEventType.EmailVerificationRequested;
      const issued = await issueToken(
        m,
        TABLE,
        { select: 'SELECT $1::uuid AS id', parameters: [request.userId] },
        { ...request, id: request.verificationId, event },
      );
      if (issued) return { outcome: 'issued' };
      // Under the account's row lock: the events are those issueToken just counted, so one is found.
      const wait = await secondsUntilIssuable(m, request.userId, event, request);
      return { outcome: 'limited', retryAfterSeconds: wait ?? Math.ceil(request.windowMs / 1000) };
    };
    return manager ? work(manager) : this.dataSource.transaction(work);
  }

  /**
   * Uses up the verification token with this hash and marks its account verified (keeping an
   * earlier time, if any), inside the caller's transaction: the account's id, or null when the
   * token is unknown, used (or another of the account's was), replaced or expired.
   */
  async consume(tokenHash: string, now: Date, manager: EntityManager): Promise<string | null> {
    const userId = await consumeToken(manager, TABLE, tokenHash, now);
    if (userId) {
      await manager.query(
        'UPDATE users SET email_verified_at = coalesce(email_verified_at, $2), updated_at = now() WHERE id = $1',
        [userId, now],
      );
    }
    return userId;
  }

  /**
   * The account a live verification token with this hash confirms, with what proves its owner: its
   * e-mail (the key of its password attempts) and password hash. Null when the token is unknown,
   * used, replaced or expired at `now`. A read, no lock: `consume` decides.
   */
  async holderOfLive(
    tokenHash: string,
    now: Date,
  ): Promise<{ userId: string; email: string; passwordHash: string } | null> {
    const rows: { id: string; email: string; password_hash: string }[] = await this.dataSource.query(
      `SELECT u.id, u.email, u.password_hash FROM ${TABLE} t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = $1 AND t.expires_at > $2`,
      [tokenHash, now],
    );
    return rows[0] ? { userId: rows[0].id, email: rows[0].email, passwordHash: rows[0].password_hash } : null;
  }

  /**
   * Marks account `userId` verified at `now` unless it is already, deleting its verification
   * tokens (nothing left to confirm), inside the caller's transaction: a completed password reset,
   * which proved the inbox as a confirm does. Answers whether the account was unverified before.
   */
  async verifyByReset(userId: string, now: Date, manager: EntityManager): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `WITH verified AS (
         UPDATE users SET email_verified_at = $2, updated_at = now()
         WHERE id = $1 AND email_verified_at IS NULL RETURNING id
       ),
       used AS (DELETE FROM ${TABLE} WHERE user_id = $1)
       SELECT id FROM verified`,
      [userId, now],
    );
    return rows.length > 0;
  }

  /** Where the e-mail of verification request `verificationId` goes, while its token is live (see `recipientOfLiveToken`). */
  recipientOfLive(verificationId: string, now: Date): Promise<{ email: string } | null> {
    return recipientOfLiveToken(this.dataSource, TABLE, verificationId, now);
  }
}
