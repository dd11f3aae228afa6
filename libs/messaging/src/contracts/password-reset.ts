import { hasMessageType, mailTokenKey, toSealedTokenFields } from './sealed-token';

/** `type` of a password-reset body: it travels on the mail queue beside the purchase mails. */
export const PASSWORD_RESET_TYPE = 'password-reset';

/**
 * Body of a `account.password-reset` message, written to the outbox in the statement that stores
 * the token's hash (`PasswordResetTokensRepository.issue`) and relayed with the AMQP `messageId`
 * {@link passwordResetMessageId}. `sealedToken` is the token sealed (`sealMailToken`) with
 * {@link passwordResetMailKey}, bound to `resetId`.
 */
export interface PasswordResetMessage {
  type: typeof PASSWORD_RESET_TYPE;
  /** The reset request (`password_reset_tokens.id`). */
  resetId: string;
  userId: string;
  /** base64url of a 12-byte IV, the ciphertext and the 16-byte GCM tag. */
  sealedToken: string;
  /** RFC 3339 time after which the token is refused. */
  expiresAt: string;
}

/** The one id of a reset request's message: outbox row, AMQP message and e-mail delivery share it. */
export function passwordResetMessageId(resetId: string): string {
  return `password-reset:${resetId}`;
}

/** Whether a parsed body is a password-reset one (by its `type`). */
export function isPasswordResetBody(body: unknown): boolean {
  return hasMessageType(body, PASSWORD_RESET_TYPE);
}

/** Checks a parsed password-reset body; throws MalformedMessageError when it is not one. */
export function toPasswordReset(body: unknown): PasswordResetMessage {
  const { requestId, ...fields } = toSealedTokenFields(body, PASSWORD_RESET_TYPE, 'resetId');
  return { type: PASSWORD_RESET_TYPE, resetId: requestId, ...fields };
}

/** The key that seals reset tokens in their messages (see `mailTokenKey`). */
export function passwordResetMailKey(secret: string): Buffer {
  return mailTokenKey(secret, 'password-reset mail token v1');
}
