import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { MalformedMessageError } from './purchase-completed';

/**
 * The fields every single-use-token e-mail message carries (password reset, e-mail verification):
 * the request that issued the token, its account, the token sealed for the mailer, and its expiry.
 * The token itself never rests in PostgreSQL or RabbitMQ in clear: `sealedToken` is it encrypted
 * with a key of the message kind's own ({@link mailTokenKey}), bound to `requestId`, which only the
 * api and the mailer can open.
 */
export interface SealedTokenFields {
  /** The request's id (a UUID, lower case): its token row's id. */
  requestId: string;
  userId: string;
  /** base64url of a 12-byte IV, the ciphertext and the 16-byte GCM tag; see {@link sealMailToken}. */
  sealedToken: string;
  /** RFC 3339 time after which the token is refused. */
  expiresAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Whether a parsed body says it is of `type`. */
export function hasMessageType(body: unknown, type: string): boolean {
  return typeof body === 'object' && body !== null && (body as { type?: unknown }).type === type;
}

/**
 * Checks the {@link SealedTokenFields} of a parsed body of `type` whose request id is named
 * `idField` (`resetId`, `verificationId`); throws {@link MalformedMessageError} naming the first
 * bad field.
 */
export function toSealedTokenFields(body: unknown, type: string, idField: string): SealedTokenFields {
  if (!hasMessageType(body, type)) throw new MalformedMessageError(`not a ${type} message`);
  const fields = body as Record<string, unknown>;
  const { userId, sealedToken, expiresAt } = fields;
  const requestId = fields[idField];
  if (typeof requestId !== 'string' || !UUID.test(requestId)) throw new MalformedMessageError(idField);
  if (typeof userId !== 'string' || !UUID.test(userId)) throw new MalformedMessageError('userId');
  if (typeof sealedToken !== 'string' || !BASE64URL.test(sealedToken)) throw new MalformedMessageError('sealedToken');
  if (typeof expiresAt !== 'string' || Number.isNaN(Date.parse(expiresAt))) {
    throw new MalformedMessageError('expiresAt');
  }
  return { requestId: requestId.toLowerCase(), userId, sealedToken, expiresAt };
}

/**
 * The 32-byte AES key that seals one kind of token in its messages, derived (HKDF-SHA256) from
 * `secret`, the `TICKET_SIGNING_SECRET` the api and the mailer already share, for `purpose` (a
 * label of the kind and version): a key of its own per kind, so a sealed token tells nothing about
 * ticket codes or another kind's tokens.
 */
export function mailTokenKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'boxoffice', purpose, 32));
}

/** Encrypts `token` under `key` (AES-256-GCM, random IV, `requestId` as additional data); base64url. */
export function sealMailToken(key: Buffer, requestId: string, token: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(requestId));
  const sealed = Buffer.concat([iv, cipher.update(token, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return sealed.toString('base64url');
}

/**
 * The token {@link sealMailToken} sealed for `requestId`. Throws {@link MalformedMessageError} when
 * it was sealed under another key or for another request, or was altered: it can never be opened.
 */
export function openMailToken(key: Buffer, requestId: string, sealed: string): string {
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length <= IV_BYTES + TAG_BYTES) throw new MalformedMessageError('sealedToken');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(requestId));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new MalformedMessageError('sealedToken does not open with this key');
  }
}
