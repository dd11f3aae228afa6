import { hasMessageType } from './sealed-token';
import { MalformedMessageError } from './purchase-completed';

/** `type` of an account-notice body: it travels on the urgent mail queue. */
export const ACCOUNT_NOTICE_TYPE = 'account-notice';

/**
 * What an account notice tells the account's owner: its password was changed while signed in
 * (`password-changed`) or set with a reset token (`password-reset`); a change of its address to
 * `newEmail` was asked for (`email-change-requested`) or confirmed (`email-changed`); the account was
 * deleted (`account-deleted`: the last e-mail to its address).
 */
export type AccountNoticeEvent =
  'password-changed' | 'password-reset' | 'email-change-requested' | 'email-changed' | 'account-deleted';

const EVENTS: readonly string[] = [
  'password-changed',
  'password-reset',
  'email-change-requested',
  'email-changed',
  'account-deleted',
] satisfies readonly AccountNoticeEvent[];

/**
 * Body of an `account.notice` message: a short e-mail, with no secret in it, telling an account's
 * owner of a change to the account. Written to the outbox in the transaction of the change, with
 * the change's `auth_events` row (AccountNoticesRepository.record), whose id names it
 * ({@link accountNoticeMessageId}). `email` is where it goes: the account's address when the change
 * was made (for an e-mail change, the old address), so a later change of address does not move it.
 */
export interface AccountNoticeMessage {
  type: typeof ACCOUNT_NOTICE_TYPE;
  /** The change's audit record (`auth_events.id`): a bigint as decimal digits. */
  eventId: string;
  userId: string;
  event: AccountNoticeEvent;
  /** The address the notice goes to. */
  email: string;
  /** RFC 3339 time of the change (its audit record's). */
  at: string;
  /** The address asked for or set: with the e-mail-change events only. */
  newEmail?: string;
}

/** The one id of a notice's message: outbox row, AMQP message and e-mail delivery share it. */
export function accountNoticeMessageId(eventId: string): string {
  return `account-notice:${eventId}`;
}

/** Whether a parsed body is an account-notice one (by its `type`). */
export function isAccountNoticeBody(body: unknown): boolean {
  return hasMessageType(body, ACCOUNT_NOTICE_TYPE);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^[1-9][0-9]{0,18}$/;

/** Checks a parsed account-notice body; throws MalformedMessageError naming the first bad field. */
export function toAccountNotice(body: unknown): AccountNoticeMessage {
  if (!isAccountNoticeBody(body)) throw new MalformedMessageError(`not a ${ACCOUNT_NOTICE_TYPE} message`);
  const { eventId, userId, event, email, at, newEmail } = body as Record<string, unknown>;
  if (typeof eventId !== 'string' || !BIGINT.test(eventId)) throw new MalformedMessageError('eventId');
  if (typeof userId !== 'string' || !UUID.test(userId)) throw new MalformedMessageError('userId');
  if (typeof event !== 'string' || !EVENTS.includes(event)) throw new MalformedMessageError('event');
  if (typeof email !== 'string' || !email.includes('@')) throw new MalformedMessageError('email');
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) throw new MalformedMessageError('at');
  const aboutAddress = event === 'email-change-requested' || event === 'email-changed';
  if (aboutAddress ? typeof newEmail !== 'string' || !newEmail.includes('@') : newEmail !== undefined) {
    throw new MalformedMessageError('newEmail');
  }
  return {
    type: ACCOUNT_NOTICE_TYPE,
    eventId,
    userId,
    event: event as AccountNoticeEvent,
    email,
    at,
    ...(aboutAddress ? { newEmail: newEmail as string } : {}),
  };
}
