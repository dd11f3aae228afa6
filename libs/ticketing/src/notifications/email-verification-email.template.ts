import { escapeHtml, formatStartTime, RenderedEmail } from './purchase-email.template';
import { mailLink } from './mail-link';

/** What a "confirm your e-mail address" e-mail says: to whom, the token, and until when it works. */
export interface EmailVerificationEmailInput {
  name: string;
  email: string;
  /** The verification token, base64url. */
  token: string;
  expiresAt: Date;
  /** EMAIL_VERIFICATION_URL: the page that confirms the address, `{token}` in it; none: the bare token only. */
  verifyUrl?: string;
}

/**
 * The "confirm your e-mail address" e-mail: with `verifyUrl`, the link that confirms it; always the
 * token to send to `POST /api/v1/auth/email-verification/confirm` (the way without a link, or a
 * fallback beside it); until when it works (UTC); why it matters (tickets and notices go to this
 * address) and what to do when the reader did not sign up.
 */
export function renderEmailVerificationEmail(input: EmailVerificationEmailInput): RenderedEmail {
  const until = formatStartTime(input.expiresAt);
  const subject = 'Confirm your e-mail address for boxoffice';
  const link = input.verifyUrl === undefined ? null : mailLink(input.verifyUrl, input.token);
  const text = [
    `Hello ${input.name},`,
    '',
    `please confirm that ${input.email} is your address: your tickets and every notice about them`,
    'go there, and some sales only sell to confirmed addresses.',
    '',
    ...(link === null ? [] : ['Open this link to confirm it:', '', link, '', 'Or, without the link,']),
    `${link === null ? 'Send' : 'send'} this token to POST /api/v1/auth/email-verification/confirm {"token": "…"}:`,
    '',
    `Token:  ${input.token}`,
    `Valid:  once, until ${until}`,
    '',
    'If you did not sign up for boxoffice, ignore this e-mail: nothing happens without it.',
    '',
    'boxoffice',
    '',
  ].join('\n');
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>Hello ${escapeHtml(input.name)},</p>
<p>please confirm that <strong>${escapeHtml(input.email)}</strong> is your address: your tickets and every notice about them go there, and some sales only sell to confirmed addresses.</p>
${
  link === null
    ? '<p>Send'
    : `<p><a href="${escapeHtml(link)}">Confirm your address</a>:</p>
<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>
<p>Or, without the link, send`
} this token to <code>POST /api/v1/auth/email-verification/confirm</code>:</p>
<p><code style="font-size: 1.1em">${escapeHtml(input.token)}</code></p>
<p>It works once, until ${escapeHtml(until)}.</p>
<p>If you did not sign up for boxoffice, ignore this e-mail: nothing happens without it.</p>
<p>boxoffice</p>
</body>
</html>
`;
  return { subject, text, html };
}
