import { describe, expect, it } from 'vitest';
import { renderEmailVerificationEmail } from './email-verification-email.template';

const input = {
  email: 'ana@example.test',
  token: 'AbC-_0123456789abcdefghijklmnopqrstuvwxyzAB',
  expiresAt: new Date('2026-12-05T12:30:00.000Z'),
};

describe('e-mail verification template', () => {
  it('without EMAIL_VERIFICATION_URL gives the bare token, the route, its expiry and no link', () => {
    const email = renderEmailVerificationEmail(input);
    expect(email.subject).toBe('Confirm your e-mail address for boxoffice');
    expect(email.text).toContain(`Token:  ${input.token}`);
    expect(email.text).toContain('Send this token to POST /api/v1/auth/email-verification/confirm');
    expect(email.text).toContain('ana@example.test');
    // Who did not sign up cannot confirm (no sign-in, no password): ignore it, or reset the password.
    expect(email.text).toContain('If you did not sign up for boxoffice, ignore this e-mail');
    expect(email.text).toContain('reset its password (POST /api/v1/auth/password-reset');
    expect(email.html).toContain('reset its password');
    expect(email.text).not.toContain('http');
    expect(email.html).toContain(`<code style="font-size: 1.1em">${input.token}</code>`);
    expect(email.html).not.toContain('<a ');
    expect(email.html).toContain('<p>Hello,</p>');
  });

  it('with EMAIL_VERIFICATION_URL gives the link with the token in it, and still the bare token', () => {
    const verifyUrl = 'https://shop.example.com/verify?a=1&token={token}';
    const link = `https://shop.example.com/verify?a=1&token=${input.token}`;
    const email = renderEmailVerificationEmail({ ...input, verifyUrl });
    expect(email.text).toContain(`Open this link to confirm it:\n\n${link}\n`);
    expect(email.text).toContain(`Token:  ${input.token}`);
    expect(email.html).toContain(`href="https://shop.example.com/verify?a=1&amp;token=${input.token}"`);
    expect(email.html).toContain(`<code style="font-size: 1.1em">${input.token}</code>`);
  });
});
