import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthEventType } from '../entities/auth-event.entity';
import {
  consumeToken,
  isLiveToken,
  issueToken,
  recipientOfLiveToken,
  SingleUseTokenRequest,
  TokenAccountQuery,
} from './single-use-tokens';

const TABLE = 'password_reset_tokens';

/**
 * How a reset request finds its account (`issueToken`): by its e-mail key ($1); and, whether or
 * not there is one, it records the request by the key's hash ($2).
 */
const REQUEST_AND_ACCOUNT: Omit<TokenAccountQuery, 'parameters'> = {
  prelude: `request AS (INSERT INTO password_reset_requests (email_hash) VALUES ($2)),
    -- The table stays about a day deep: each request removes up to two of the oldest rows
    -- when they are older than that (two rows read by the primary key, whatever the table's size).
    pruned AS (
      DELETE FROM password_reset_requests WHERE id IN (
        SELECT id FROM (SELECT id, created_at FROM password_reset_requests ORDER BY id LIMIT 2) oldest
        WHERE created_at < now() - interval '1 day'
      )
    )`,
  // A deleted account (its address `deleted-<id>@invalid`) is none: no reset is mailed to it.
  select: 'SELECT id FROM users WHERE email_key = $1 AND deleted_at IS NULL',
};

/**
 * A reset request as {@link PasswordResetTokensRepository.issue} stores it; its `message` is a
 * `PasswordResetMessage` of `@app/messaging/contracts`.
 */
export interface NewPasswordReset extends SingleUseTokenRequest {
  /** The account's e-mail key (`emailKey` of libs/core): the one lookup of the account. */
  emailKey: string;
  /** SHA-256 (hex) of the e-mail key: how the request is recorded, never the address itself. */
  emailHash: string;
  /** A fresh UUID naming the request. */
  resetId: string;
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
      return issueToken(
        manager,
        TABLE,
        { ...REQUEST_AND_ACCOUNT, parameters: [reset.emailKey, reset.emailHash] },
        { ...reset, id: reset.resetId, event: AuthEventType.PasswordResetRequested },
      );
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
  recipientOfLive(resetId: string, now: Date): Promise<{ email: string } | null> {
    return recipientOfLiveToken(this.dataSource, TABLE, resetId, now);
  }
}
