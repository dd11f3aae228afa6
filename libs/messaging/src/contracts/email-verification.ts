import { hasMessageType, mailTokenKey, toSealedTokenFields } from './sealed-token';

/** `type` of an e-mail-verification body: it travels on the urgent mail queue. */
export const EMAIL_VERIFICATION_TYPE = 'email-verification';

/**
 * Body of an `account.email-verification` message, written to the outbox in the statement that
 * stores the token's hash (`EmailVerificationTokensRepository.issue`) and relayed with the AMQP
 * `messageId` {@link emailVerificationMessageId}. `sealedToken` is the token sealed
 * (`sealMailToken`) with {@link emailVerificationMailKey}, bound to `verificationId`.
 */
export interface EmailVerificationMessage {
  type: typeof EMAIL_VERIFICATION_TYPE;
  /** The verification request (`email_verification_tokens.id`). */
  verificationId: string;
  userId: string;
  /** base64url of a 12-byte IV, the ciphertext and the 16-byte GCM tag. */
  sealedToken: string;
  /** RFC 3339 time after which the token is refused. */
  expiresAt: string;
}

/** The one id of a verification request's message: outbox row, AMQP message and e-mail delivery share it. */
export function emailVerificationMessageId(verificationId: string): string {
  return `email-verification:${verificationId}`;
}

/** Whether a parsed body is an e-mail-verification one (by its `type`). */
export function isEmailVerificationBody(body: unknown): boolean {
  return hasMessageType(body, EMAIL_VERIFICATION_TYPE);
}

/** Checks a parsed e-mail-verification body; throws MalformedMessageError when it is not one. */
export function toEmailVerification(body: unknown): EmailVerificationMessage {
  const { requestId, ...fields } = toSealedTokenFields(body, EMAIL_VERIFICATION_TYPE, 'verificationId');
  return { type: EMAIL_VERIFICATION_TYPE, verificationId: requestId, ...fields };
}

/** The key that seals verification tokens in their messages (see `mailTokenKey`): not the reset one. */
export function emailVerificationMailKey(secret: string): Buffer {
  return mailTokenKey(secret, 'email-verification mail token v1');
}
