import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { MalformedMessageError } from './purchase-completed';

/** `type` of a password-reset body: it travels on the mail queue beside the purchase mails. */
export const PASSWORD_RESET_TYPE = 'password-reset';

/**
 * Body of a `account.password-reset` message, written to the outbox in the statement that stores
 * the token's hash (`PasswordResetTokensRepository.issue`) and relayed with the AMQP `messageId`
 * {@link passwordResetMessageId}. The token itself never rests in PostgreSQL or RabbitMQ in clear:
 * `sealedToken` is it encrypted with {@link passwordResetMailKey} (AES-256-GCM, bound to `resetId`),
 * which only the api and the mailer can open.
 */
export interface PasswordResetMessage {
  type: typeof PASSWORD_RESET_TYPE;
  /** The reset request (`password_reset_tokens.id`). */
  resetId: string;
  userId: string;
  /** base64url of a 12-byte IV, the ciphertext and the 16-byte GCM tag; see {@link sealResetToken}. */
  sealedToken: string;
  /** RFC 3339 time after which the token is refused. */
  expiresAt: string;
}

/** The one id of a reset request's message: outbox row, AMQP message and e-mail delivery share it. */
export function passwordResetMessageId(resetId: string): string {
  return `password-reset:${resetId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Whether a parsed body is a password-reset one (by its `type`). */
export function isPasswordResetBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { type?: unknown }).type === PASSWORD_RESET_TYPE;
}

/** Checks a parsed password-reset body; throws {@link MalformedMessageError} when it is not one. */
export function toPasswordReset(body: unknown): PasswordResetMessage {
  if (!isPasswordResetBody(body)) throw new MalformedMessageError('not a password-reset message');
  const { resetId, userId, sealedToken, expiresAt } = body as Record<string, unknown>;
  if (typeof resetId !== 'string' || !UUID.test(resetId)) throw new MalformedMessageError('resetId');
  if (typeof userId !== 'string' || !UUID.test(userId)) throw new MalformedMessageError('userId');
  if (typeof sealedToken !== 'string' || !BASE64URL.test(sealedToken)) throw new MalformedMessageError('sealedToken');
  if (typeof expiresAt !== 'string' || Number.isNaN(Date.parse(expiresAt))) {
    throw new MalformedMessageError('expiresAt');
  }
  return { type: PASSWORD_RESET_TYPE, resetId: resetId.toLowerCase(), userId, sealedToken, expiresAt };
}

/**
 * The 32-byte AES key that seals reset tokens in their messages, derived (HKDF-SHA256) from
 * `secret`, the `TICKET_SIGNING_SECRET` the api and the mailer already share: a key of its own
 * purpose, so a sealed token tells nothing about ticket codes.
 */
export function passwordResetMailKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'boxoffice', 'password-reset mail token v1', 32));
}

/** Encrypts `token` under `key` (AES-256-GCM, random IV, `resetId` as additional data); base64url. */
export function sealResetToken(key: Buffer, resetId: string, token: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(resetId));
  const sealed = Buffer.concat([iv, cipher.update(token, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return sealed.toString('base64url');
}

/**
 * The token {@link sealResetToken} sealed for `resetId`. Throws {@link MalformedMessageError} when
 * it was sealed under another key or for another request, or was altered: it can never be opened.
 */
export function openResetToken(key: Buffer, resetId: string, sealed: string): string {
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length <= IV_BYTES + TAG_BYTES) throw new MalformedMessageError('sealedToken');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(resetId));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new MalformedMessageError('sealedToken does not open with this key');
  }
}
