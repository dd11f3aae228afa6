import { escapeHtml, RenderedEmail } from './email-layout';
import { renderTokenEmail, TokenEmailInput } from './token-email.template';

/** What a password-reset e-mail says: to whom, the token (the reset token), and until when it works. */
export interface PasswordResetEmailInput extends TokenEmailInput {
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
  return renderTokenEmail(input, input.resetUrl, {
    subject: 'Reset your boxoffice password',
    intro: [`someone asked to reset the password of the boxoffice account ${input.email}.`],
    introHtml: `<p>someone asked to reset the password of the boxoffice account <strong>${escapeHtml(input.email)}</strong>.\n`,
    linkLead: {
      text: 'If it was you, open this link to set a new password:',
      before: 'If it was you, ',
      anchor: 'set a new password',
    },
    sendOpening: 'If it was you, send',
    send: {
      text: [
        'this token with your new password to',
        'POST /api/v1/auth/password-reset/confirm {"token": "…", "password": "…"}:',
      ],
      html: 'this token with your new password to <code>POST /api/v1/auth/password-reset/confirm</code>:',
    },
    note: 'Setting the new password signs the account out everywhere.',
    ignore: 'If you did not ask for this, ignore this e-mail: your password stays as it is.',
  });
}
