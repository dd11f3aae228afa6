import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EMAIL_VERIFICATION_TYPE,
  emailVerificationMailKey,
  emailVerificationMessageId,
  toEmailVerification,
} from './email-verification';
import { parseMailMessage } from './mail-message';
import { passwordResetMailKey } from './password-reset';
import { MalformedMessageError } from './purchase-completed';
import { openMailToken, sealMailToken } from './sealed-token';

const VERIFICATION = '2c6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';
const SECRET = 'a ticket signing secret of at least 32 characters';
const key = emailVerificationMailKey(SECRET);
const token = randomBytes(32).toString('base64url');

describe('email-verification contract', () => {
  it('names the message after its request', () => {
    expect(emailVerificationMessageId(VERIFICATION)).toBe(`email-verification:${VERIFICATION}`);
  });

  it('seals with a key of its own: a reset key does not open a verification token', () => {
    expect(key).toHaveLength(32);
    expect(key).not.toEqual(passwordResetMailKey(SECRET));
    const sealed = sealMailToken(key, VERIFICATION, token);
    expect(openMailToken(key, VERIFICATION, sealed)).toBe(token);
    expect(() => openMailToken(passwordResetMailKey(SECRET), VERIFICATION, sealed)).toThrow(MalformedMessageError);
  });

  const valid = {
    type: EMAIL_VERIFICATION_TYPE,
    verificationId: VERIFICATION,
    userId: '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    sealedToken: sealMailToken(key, VERIFICATION, token),
    expiresAt: '2026-12-05T13:00:00.000Z',
  };

  it('reads a valid message from the mail queue by its type', () => {
    expect(parseMailMessage(Buffer.from(JSON.stringify(valid)))).toEqual({
      kind: 'email-verification',
      message: valid,
    });
  });

  it.each([
    ['a bad verification id', { ...valid, verificationId: 'v-1' }],
    ['a reset id instead of a verification id', { ...valid, verificationId: undefined, resetId: VERIFICATION }],
    ['a bad user id', { ...valid, userId: 7 }],
    ['a sealed token that is not base64url', { ...valid, sealedToken: 'a+b/' }],
    ['a bad expiry', { ...valid, expiresAt: 'soon' }],
    ['another type', { ...valid, type: 'password-reset' }],
  ])('refuses %s', (_name, body) => {
    expect(() => toEmailVerification(body)).toThrow(MalformedMessageError);
  });
});
