import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuthEventType } from '../entities/auth-event.entity';

/** What an account notice tells (the `event` of an `AccountNoticeMessage` of `@app/messaging/contracts`). */
export type AccountNoticeKind =
  'password-changed' | 'password-reset' | 'email-change-requested' | 'email-changed' | 'account-deleted';

/** The audit record of each notice's change. */
const EVENT_OF: Record<AccountNoticeKind, AuthEventType> = {
  'password-changed': AuthEventType.PasswordChanged,
  'password-reset': AuthEventType.PasswordReset,
  'email-change-requested': AuthEventType.EmailChangeRequested,
  'email-changed': AuthEventType.EmailChanged,
  'account-deleted': AuthEventType.AccountDeleted,
};

/** A notice to write: of what, for which account, to which address, with its message's routing key. */
export interface NewAccountNotice {
  userId: string;
  kind: AccountNoticeKind;
  /** The address it goes to (the account's when the change was made). */
  email: string;
  /** The address asked for or set, for the e-mail-change kinds. */
  newEmail?: string;
  routingKey: string;
}

/**
 * Notices of changes to an account, each with its change's audit record: the record and the
 * notice's outbox row are written in one statement of the change's transaction, so the notice goes
 * out exactly when the change commits, and once (its message id is derived from the record's id).
 */
@Injectable()
export class AccountNoticesRepository {
  /**
   * Records the change's auth event (`EVENT_OF[notice.kind]`) and writes the notice's outbox row,
   * `account-notice:<auth event id>`, in `manager`'s transaction. An `email-change-requested`
   * notice names the EMAIL_CHANGE_REQUESTED record the token's issue wrote in this transaction
   * instead of writing a second one (those records are what the requests' limit counts): the
   * account's newest of that type, found under the account's row lock that the issue holds.
   */
  async record(notice: NewAccountNotice, manager: EntityManager): Promise<void> {
    const event =
      notice.kind === 'email-change-requested'
        ? `SELECT id, user_id, created_at FROM auth_events WHERE user_id = $1 AND type = $2 ORDER BY id DESC LIMIT 1`
        : `INSERT INTO auth_events (user_id, type) VALUES ($1, $2) RETURNING id, user_id, created_at`;
    await manager.query(
      `WITH event AS (${event})
       INSERT INTO outbox (message_id, routing_key, payload)
       SELECT 'account-notice:' || id, $3, jsonb_strip_nulls(jsonb_build_object(
         'type', 'account-notice', 'eventId', id::text, 'userId', user_id, 'event', $4::text,
         'email', $5::text, 'newEmail', $6::text,
         'at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
       FROM event`,
      [notice.userId, EVENT_OF[notice.kind], notice.routingKey, notice.kind, notice.email, notice.newEmail ?? null],
    );
  }
}
