import { hasMessageType, mailTokenKey, toSealedTokenFields } from './sealed-token';

/** `type` of an e-mail-change body: it travels on the urgent mail queue. */
export const EMAIL_CHANGE_TYPE = 'email-change';

/**
 * Body of an `account.email-change` message: the token that confirms a new address, mailed to that
 * address. Written to the outbox in the statement that stores the token's hash
 * (`EmailChangeTokensRepository.issue`) and relayed with the AMQP `messageId`
 * {@link emailChangeMessageId}. `sealedToken` is the token sealed (`sealMailToken`) with
 * {@link emailChangeMailKey}, bound to `changeId`. The new address is not in the body: the mailer
 * reads it from the token's row, which exists only while the token works.
 */
export interface EmailChangeMessage {
  type: typeof EMAIL_CHANGE_TYPE;
  /** The change request (`email_change_tokens.id`). */
  changeId: string;
  userId: string;
  /** base64url of a 12-byte IV, the ciphertext and the 16-byte GCM tag. */
  sealedToken: string;
  /** RFC 3339 time after which the token is refused. */
  expiresAt: string;
}

/** The one id of a change request's message: outbox row, AMQP message and e-mail delivery share it. */
export function emailChangeMessageId(changeId: string): string {
  return `email-change:${changeId}`;
}

/** Whether a parsed body is an e-mail-change one (by its `type`). */
export function isEmailChangeBody(body: unknown): boolean {
  return hasMessageType(body, EMAIL_CHANGE_TYPE);
}

/** Checks a parsed e-mail-change body; throws MalformedMessageError when it is not one. */
export function toEmailChange(body: unknown): EmailChangeMessage {
  const { requestId, ...fields } = toSealedTokenFields(body, EMAIL_CHANGE_TYPE, 'changeId');
  return { type: EMAIL_CHANGE_TYPE, changeId: requestId, ...fields };
}

/** The key that seals e-mail-change tokens in their messages (see `mailTokenKey`): a key of its own. */
export function emailChangeMailKey(secret: string): Buffer {
  return mailTokenKey(secret, 'email-change mail token v1');
}
