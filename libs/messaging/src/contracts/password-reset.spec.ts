import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseMailMessage } from './mail-message';
import { PASSWORD_RESET_TYPE, passwordResetMailKey, passwordResetMessageId, toPasswordReset } from './password-reset';
import { MalformedMessageError } from './purchase-completed';
import { openMailToken, sealMailToken } from './sealed-token';

const RESET = '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';
const OTHER_RESET = '1b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';
const key = passwordResetMailKey('a ticket signing secret of at least 32 characters');
const token = randomBytes(32).toString('base64url');

describe('password-reset contract', () => {
  it('names the message after its request', () => {
    expect(passwordResetMessageId(RESET)).toBe(`password-reset:${RESET}`);
  });

  it('derives a 32-byte key per secret, not the secret itself', () => {
    expect(key).toHaveLength(32);
    expect(passwordResetMailKey('another secret of at least 32 characters!!')).not.toEqual(key);
    expect(key.toString('utf8')).not.toContain('ticket');
  });

  it('seals a token so that only the same key and request open it', () => {
    const sealed = sealMailToken(key, RESET, token);
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(token);
    expect(sealMailToken(key, RESET, token)).not.toBe(sealed);
    expect(openMailToken(key, RESET, sealed)).toBe(token);
    expect(() => openMailToken(key, OTHER_RESET, sealed)).toThrow(MalformedMessageError);
    expect(() => openMailToken(passwordResetMailKey('x'.repeat(40)), RESET, sealed)).toThrow(MalformedMessageError);
    const altered = Buffer.from(sealed, 'base64url');
    altered[14] ^= 1;
    expect(() => openMailToken(key, RESET, altered.toString('base64url'))).toThrow(MalformedMessageError);
    expect(() => openMailToken(key, RESET, 'AAAA')).toThrow(MalformedMessageError);
  });

  const valid = {
    type: PASSWORD_RESET_TYPE,
    resetId: RESET,
    userId: '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    sealedToken: sealMailToken(key, RESET, token),
    expiresAt: '2026-12-04T13:00:00.000Z',
  };

  it('reads a valid message from the mail queue by its type', () => {
    expect(parseMailMessage(Buffer.from(JSON.stringify(valid)))).toEqual({ kind: 'password-reset', message: valid });
  });

  it.each([
    ['a bad reset id', { ...valid, resetId: 'r-1' }],
    ['a bad user id', { ...valid, userId: 7 }],
    ['a sealed token that is not base64url', { ...valid, sealedToken: 'a+b/' }],
    ['no sealed token', { ...valid, sealedToken: undefined }],
    ['a bad expiry', { ...valid, expiresAt: 'soon' }],
    ['another type', { ...valid, type: 'purchase.canceled' }],
  ])('refuses %s', (_name, body) => {
    expect(() => toPasswordReset(body)).toThrow(MalformedMessageError);
  });
});
