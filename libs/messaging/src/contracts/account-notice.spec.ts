import { describe, expect, it } from 'vitest';
import { accountNoticeMessageId, toAccountNotice } from './account-notice';
import { emailChangeMessageId, toEmailChange } from './email-change';
import { parseMailMessage } from './mail-message';
import { MalformedMessageError } from './purchase-completed';

const USER = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const CHANGE = '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';

describe('account-notice contract', () => {
  const changed = {
    type: 'account-notice',
    eventId: '42',
    userId: USER,
    event: 'password-changed',
    email: 'ada@example.com',
    at: '2026-12-07T11:00:00.000Z',
  };
  const moved = { ...changed, event: 'email-changed', newEmail: 'ada.new@example.com' };

  it('names the message after the change’s audit record', () => {
    expect(accountNoticeMessageId('42')).toBe('account-notice:42');
  });

  it('reads a notice from the mail queue by its type, with newEmail for the e-mail changes only', () => {
    expect(parseMailMessage(Buffer.from(JSON.stringify(changed)))).toEqual({
      kind: 'account-notice',
      message: changed,
    });
    expect(toAccountNotice(moved)).toEqual(moved);
    expect(toAccountNotice({ ...changed, event: 'account-deleted' })).toEqual({ ...changed, event: 'account-deleted' });
  });

  it.each([
    ['a bad event id', { ...changed, eventId: '0x2a' }],
    ['a bad user id', { ...changed, userId: 'u-1' }],
    ['an unknown event', { ...changed, event: 'account-locked' }],
    ['a new address on the deletion notice', { ...changed, event: 'account-deleted', newEmail: 'x@example.com' }],
    ['no address', { ...changed, email: undefined }],
    ['a bad time', { ...changed, at: 'now' }],
    ['a new address on a password notice', { ...changed, newEmail: 'x@example.com' }],
    ['no new address on an e-mail change', { ...moved, newEmail: undefined }],
  ])('refuses %s', (_name, body) => {
    expect(() => toAccountNotice(body)).toThrow(MalformedMessageError);
  });
});

describe('email-change contract', () => {
  const valid = {
    type: 'email-change',
    changeId: CHANGE,
    userId: USER,
    sealedToken: 'c2VhbGVk',
    expiresAt: '2026-12-08T11:00:00.000Z',
  };

  it('names the message after its request and reads it by its type', () => {
    expect(emailChangeMessageId(CHANGE)).toBe(`email-change:${CHANGE}`);
    expect(parseMailMessage(Buffer.from(JSON.stringify(valid)))).toEqual({ kind: 'email-change', message: valid });
  });

  it('refuses a bad change id', () => {
    expect(() => toEmailChange({ ...valid, changeId: 'c-1' })).toThrow(MalformedMessageError);
  });
});
