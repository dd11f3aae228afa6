import { describe, expect, it } from 'vitest';
import { renderAccountNoticeEmail } from './account-notice-email.template';
import { renderEmailChangeEmail } from './email-change-email.template';

const AT = new Date('2026-12-07T11:05:00Z');

describe('renderAccountNoticeEmail', () => {
  it.each([
    ['password-changed', 'Your boxoffice password was changed', 'someone knows your password'],
    ['password-reset', 'Your boxoffice password was reset', 'someone can read this mailbox'],
    [
      'email-change-requested',
      'A change of your boxoffice e-mail address was asked for',
      'which also cancels the change',
    ],
    ['email-changed', 'Your boxoffice e-mail address was changed', 'the shop has to give the account back'],
    ['account-deleted', 'Your boxoffice account was deleted', 'asked the shop in your name'],
  ] as const)('words %s: when (UTC), what happened, what to do if it was not the reader', (event, subject, advice) => {
    const email = renderAccountNoticeEmail({
      event,
      email: 'ada@example.com',
      at: AT,
      ...(event.startsWith('email') ? { newEmail: 'ada.new@example.com' } : {}),
    });
    expect(email.subject).toBe(subject);
    expect(email.text).toMatch(/^Hello,$/m);
    expect(email.text).toContain('On Monday, 7 December 2026, 11:05 UTC');
    expect(email.text.replace(/\n/g, ' ')).toContain(advice);
    expect(email.html).toContain('11:05 UTC');
    if (event.startsWith('email')) expect(email.text).toContain('ada.new@example.com');
  });

  it('escapes the addresses in HTML', () => {
    const email = renderAccountNoticeEmail({
      event: 'email-changed',
      email: 'ada@example.com',
      at: AT,
      newEmail: '"<b>"@example.com',
    });
    expect(email.html).not.toContain('<b>');
    expect(email.html).toContain('&lt;b&gt;');
  });
});

describe('renderEmailChangeEmail', () => {
  it('gives the link, the token and the confirm route, and says confirming signs out everywhere', () => {
    const token = 'A'.repeat(43);
    const email = renderEmailChangeEmail({
      email: 'ada.new@example.com',
      token,
      expiresAt: AT,
      changeUrl: 'https://shop.example.com/change-email#token={token}',
    });
    expect(email.subject).toBe('Confirm your new e-mail address for boxoffice');
    expect(email.text).toContain(`https://shop.example.com/change-email#token=${token}`);
    expect(email.text).toContain(`Token:  ${token}`);
    expect(email.text).toContain('POST /api/v1/auth/email/confirm');
    expect(email.text).toContain('Confirming signs the account out everywhere');
  });
});
