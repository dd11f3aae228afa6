import { randomBytes, randomUUID } from 'node:crypto';
import type { SingleUseTokenRequest } from '@app/database';
import { sealMailToken } from '@app/messaging/contracts';
import { hashToken } from './token.service';

/** Random bytes of a single-use token mailed to an account; sent as base64url (43 characters). */
export const MAIL_TOKEN_BYTES = 32;

/**
 * Per account, for each kind of mailed token (password reset, e-mail verification, e-mail change): live tokens
 * kept at most (a request past them replaces the oldest), and tokens issued per window at most (a
 * request past them issues nothing; a password reset's is answered alike, with no 429, which would
 * tell whose e-mail it is and let anyone shut an account out of its resets; a verification e-mail's,
 * which only the signed-in owner asks for, gets 429 with Retry-After). `windowMs` is in
 * milliseconds; the tokens issued in it are counted from the account's auth events, so using,
 * expiring or voiding them does not start it again.
 */
export const MAIL_TOKEN_LIMITS = { liveTokens: 3, issuedPerWindow: 3, windowMs: 15 * 60_000 };

/** A fresh single-use token to mail, and its SHA-256 (hex): all that is stored of it. */
function newMailToken(): { token: string; tokenHash: string } {
  const token = randomBytes(MAIL_TOKEN_BYTES).toString('base64url');
  return { token, tokenHash: hashToken(token) };
}

/**
 * The outbox message of one kind of mailed token: its contract's `type`, the payload field naming
 * the request (`resetId`, `verificationId`), its routing key and its message id.
 */
export interface MailTokenKind {
  type: string;
  idField: string;
  routingKey: string;
  messageId: (requestId: string) => string;
}

/**
 * A new mailed token's request of one kind, as its repository's `issue` stores it (the account
 * aside): a fresh token (only its SHA-256 kept) valid `ttlMs` milliseconds from `now`, within
 * MAIL_TOKEN_LIMITS, and its e-mail's outbox message: of `kind.type`, naming the request by a fresh
 * UUID (`requestId`, under `kind.idField`), with the token sealed under `mailKey` for that request
 * (only the api and the mailer open it) and the expiry (RFC 3339).
 */
export function newMailTokenRequest(
  kind: MailTokenKind,
  mailKey: Buffer,
  now: Date,
  ttlMs: number,
): { requestId: string; request: SingleUseTokenRequest } {
  const { token, tokenHash } = newMailToken();
  const requestId = randomUUID();
  const expiresAt = new Date(now.getTime() + ttlMs);
  return {
    requestId,
    request: {
      tokenHash,
      expiresAt,
      now,
      maxLiveTokens: MAIL_TOKEN_LIMITS.liveTokens,
      maxIssued: MAIL_TOKEN_LIMITS.issuedPerWindow,
      windowMs: MAIL_TOKEN_LIMITS.windowMs,
      message: {
        messageId: kind.messageId(requestId),
        routingKey: kind.routingKey,
        payload: {
          type: kind.type,
          [kind.idField]: requestId,
          sealedToken: sealMailToken(mailKey, requestId, token),
          expiresAt: expiresAt.toISOString(),
        },
      },
    },
  };
}
