import { describe, expect, it } from 'vitest';
import { renderPasswordResetEmail } from './password-reset-email.template';
import { mailLink } from './mail-link';

const input = {
  email: 'ana@example.test',
  token: 'AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB',
  expiresAt: new Date('2026-12-04T12:30:00.000Z'),
};

describe('password-reset e-mail template', () => {
  it('without PASSWORD_RESET_URL gives the bare token, its expiry and no link', () => {
    const email = renderPasswordResetEmail(input);
    expect(email.subject).toBe('Reset your boxoffice password');
    expect(email.text).toContain(`Token:  ${input.token}`);
    expect(email.text).toContain('If it was you, send this token with your new password to');
    expect(email.text).not.toContain('http');
    expect(email.html).toContain(`<code style="font-size: 1.1em">${input.token}</code>`);
    expect(email.html).not.toContain('<a ');
    expect(email.html).toContain('<p>Hello,</p>');
  });

  it('with PASSWORD_RESET_URL gives the link with the token in it, and still the bare token', () => {
    const resetUrl = 'https://shop.example.com/reset-password#token={token}';
    const link = `https://shop.example.com/reset-password#token=${input.token}`;
    const email = renderPasswordResetEmail({ ...input, resetUrl });
    expect(email.text).toContain(`open this link to set a new password:\n\n${link}\n`);
    expect(email.text).toContain(`Token:  ${input.token}`);
    expect(email.html).toContain(`<a href="${link}">${link}</a>`);
    expect(email.html).toContain(`<code style="font-size: 1.1em">${input.token}</code>`);
  });

  it('URL-encodes the token into every {token} and escapes the link in HTML', () => {
    expect(mailLink('https://x.example/r?t={token}&again={token}', 'a b/+&')).toBe(
      'https://x.example/r?t=a%20b%2F%2B%26&again=a%20b%2F%2B%26',
    );
    const email = renderPasswordResetEmail({ ...input, resetUrl: 'https://x.example/r?a=1&t={token}' });
    expect(email.html).toContain(`href="https://x.example/r?a=1&amp;t=${input.token}"`);
    expect(email.text).toContain(`https://x.example/r?a=1&t=${input.token}`);
  });
});
