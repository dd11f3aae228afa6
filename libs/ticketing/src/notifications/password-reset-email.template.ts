import { escapeHtml, formatStartTime, RenderedEmail } from './purchase-email.template';
import { mailLink } from './mail-link';

/** What a password-reset e-mail says: to whom, the token, and until when it works. */
export interface PasswordResetEmailInput {
  name: string;
  email: string;
  /** The reset token, base64url. */
  token: string;
  expiresAt: Date;
  /** PASSWORD_RESET_URL: the page to set a new password on, `{token}` in it; none: the bare token only. */
  resetUrl?: string;
}

/**
 * The password-reset e-mail: with `resetUrl`, the link to set a new password with; always the
 * token to send with a new password to `POST /api/v1/auth/password-reset/confirm` (the way without
 * a link, or a fallback beside it); until when it works (UTC), that it works once and ends every
 * session, and what to do when the reader did not ask for it.
 */
export function renderPasswordResetEmail(input: PasswordResetEmailInput): RenderedEmail {
  const until = formatStartTime(input.expiresAt);
  const subject = 'Reset your boxoffice password';
  const link = input.resetUrl === undefined ? null : mailLink(input.resetUrl, input.token);
  const text = [
    `Hello ${input.name},`,
    '',
    `someone asked to reset the password of the boxoffice account ${input.email}.`,
    ...(link === null
      ? []
      : ['If it was you, open this link to set a new password:', '', link, '', 'Or, without the link,']),
    `${link === null ? 'If it was you, send' : 'send'} this token with your new password to`,
    'POST /api/v1/auth/password-reset/confirm {"token": "…", "password": "…"}:',
    '',
    `Token:  ${input.token}`,
    `Valid:  once, until ${until}`,
    '',
    'Setting the new password signs the account out everywhere.',
    'If you did not ask for this, ignore this e-mail: your password stays as it is.',
    '',
    'boxoffice',
    '',
  ].join('\n');
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>Hello ${escapeHtml(input.name)},</p>
<p>someone asked to reset the password of the boxoffice account <strong>${escapeHtml(input.email)}</strong>.
${
  link === null
    ? 'If it was you, send'
    : `If it was you, <a href="${escapeHtml(link)}">set a new password</a>:</p>
<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>
<p>Or, without the link, send`
} this token with your new password to <code>POST /api/v1/auth/password-reset/confirm</code>:</p>
<p><code style="font-size: 1.1em">${escapeHtml(input.token)}</code></p>
<p>It works once, until ${escapeHtml(until)}. Setting the new password signs the account out everywhere.</p>
<p>If you did not ask for this, ignore this e-mail: your password stays as it is.</p>
<p>boxoffice</p>
</body>
</html>
`;
  return { subject, text, html };
}
