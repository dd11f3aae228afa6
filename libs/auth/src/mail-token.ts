import { randomBytes } from 'node:crypto';
import { hashToken } from './token.service';

/** Random bytes of a single-use token mailed to an account; sent as base64url (43 characters). */
export const MAIL_TOKEN_BYTES = 32;

/**
 * Per account, for each kind of mailed token (password reset, e-mail verification): live tokens
 * kept at most (a request past them replaces the oldest), and tokens issued per window at most (a
 * request past them issues nothing, and is answered alike: no 429, which for a reset would tell
 * whose e-mail it is, and let anyone shut an account out of its resets). `windowMs` is in
 * milliseconds; the tokens issued in it are counted from the account's auth events, so using,
 * expiring or voiding them does not start it again.
 */
export const MAIL_TOKEN_LIMITS = { liveTokens: 3, issuedPerWindow: 3, windowMs: 15 * 60_000 };

/** A fresh single-use token to mail, and its SHA-256 (hex): all that is stored of it. */
export function newMailToken(): { token: string; tokenHash: string } {
  const token = randomBytes(MAIL_TOKEN_BYTES).toString('base64url');
  return { token, tokenHash: hashToken(token) };
}
